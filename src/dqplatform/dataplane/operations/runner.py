"""Taking operations off the broker, running them in the pool and reporting back.

One message per free pool worker is taken (prefetch = parallelism); the rest wait, durably,
on the broker. A message is acknowledged only once its operation ended and the "finished"
event is on the broker, so a dataplane that dies mid-operation leaves it to be delivered
again (RabbitMQ) or re-enqueued by the controlplane (the embedded broker). On a graceful
shutdown, interrupted operations are put back on the queue for the next dataplane.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from kombu import Consumer
from pydantic import ValidationError

from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.context import OperationContext, OperationFailed
from dqplatform.dataplane.pool import CancelToken, OperationCancelled, OperationPool
from dqplatform.messaging.broker import connect, is_filesystem, open_channels
from dqplatform.messaging.operations import (
    OPERATION_EVENTS_QUEUE,
    OPERATIONS_QUEUE,
    OperationEvent,
    OperationOutput,
    Progress,
    RunOperation,
    operation_events_queue,
    operations_queue,
)
from dqplatform.messaging.publisher import Publisher
from dqplatform.request_ids import bound_request_id
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

_DRAIN_SECONDS = 0.2
_BACKLOG_EVERY_SECONDS = 1.0
_RECONNECT_SECONDS = 2.0
# A "finished" event must reach the broker before the operation is acknowledged; while the
# broker is away we keep trying, for as long as a shutdown would wait.
_FINISH_RETRY_SECONDS = 1.0


def operation_key(operation_id: int) -> str:
    """The id an operation has in the pool and in thread_pool_state."""
    return f"op-{operation_id}"


class OperationRunner:
    def __init__(
        self,
        settings: Settings,
        engine: SparkEngine,
        pool: OperationPool,
        boot_id: str,
        run: Any,
    ):
        self._settings = settings
        self._engine = engine
        self._pool = pool
        self._boot_id = boot_id
        self._run = run  # (OperationContext) -> output; injected so the runner stays testable
        self._events = Publisher(settings)
        self._stop = threading.Event()
        self._pool_stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dqp-operations", daemon=True)
        # Settlements (ack or requeue) are made by the consumer thread: kombu channels are
        # not thread-safe, and pool workers finish on their own threads.
        self._settle: queue.Queue[tuple[Any, bool]] = queue.Queue()
        self._inflight: dict[str, Any] = {}
        self._aborted: set[int] = set()
        self._lock = threading.Lock()
        self._connection: Any = None
        # Operations waiting on the broker, as last read (thread_pool_state's queued count),
        # and when to read it next (time.monotonic(); 0 reads it at the next turn).
        self.backlog = 0
        self._read_backlog_at = 0.0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop_taking(self) -> None:
        """First step of a shutdown: take no new operation (those running go on)."""
        self._stop.set()

    def stop(self, timeout: float) -> None:
        """Last step of a shutdown, once the pool has stopped: settle what finished, put every
        unfinished operation back on the queue, disconnect."""
        self._stop.set()
        self._pool_stopped.set()
        self._thread.join(timeout)
        self._events.close()

    def channels(self) -> int:
        connection = self._connection
        count = 0 if connection is None else open_channels(connection)
        return count + self._events.channels()

    def abort(self, operation_id: int) -> bool:
        """Cancel a running or pool-queued operation; True if this dataplane had it."""
        with self._lock:
            self._aborted.add(operation_id)
        return self._pool.cancel(operation_key(operation_id))

    # --- the consumer thread ---------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as exc:
                logger.warning("operations consumer lost the broker: %s", type(exc).__name__)
            finally:
                self._connection = None
            self._stop.wait(_RECONNECT_SECONDS)

    def _consume(self) -> None:
        with connect(self._settings, heartbeat=10) as connection:
            connection.ensure_connection(
                max_retries=1, timeout=self._settings.probe_timeout_seconds
            )
            self._connection = connection
            channel = connection.channel()
            channel.basic_qos(0, self._settings.thread_pool_parallelism, False)
            consumer = Consumer(
                channel, queues=[operations_queue()], accept=["json"], callbacks=[self._on_message]
            )
            consumer.consume()
            self._read_backlog_at = 0.0
            try:
                while not self._stop.is_set():
                    try:
                        connection.drain_events(timeout=_DRAIN_SECONDS)
                    except TimeoutError:
                        connection.heartbeat_check()
                    self._apply_settlements()
                    if time.monotonic() >= self._read_backlog_at:
                        self.backlog = _queue_depth(channel, self._settings)
                        self._read_backlog_at = time.monotonic() + _BACKLOG_EVERY_SECONDS
            finally:
                consumer.cancel()
                # Operations still running finish or are interrupted by the pool's shutdown;
                # their messages are settled here, on this thread, until the pool has stopped.
                while self._stop.is_set() and not self._pool_stopped.wait(_DRAIN_SECONDS):
                    self._apply_settlements()
                self._apply_settlements()
                if self._stop.is_set():
                    self._requeue_unfinished()

    def _apply_settlements(self) -> None:
        while True:
            try:
                message, done = self._settle.get_nowait()
            except queue.Empty:
                return
            try:
                if done:
                    message.ack()
                else:
                    message.requeue()
            except Exception as exc:  # its channel died: the broker redelivers it anyway
                logger.info("could not settle an operation message: %s", type(exc).__name__)

    def _requeue_unfinished(self) -> None:
        with self._lock:
            unfinished, self._inflight = list(self._inflight.values()), {}
        for message in unfinished:
            try:
                message.requeue()
            except Exception as exc:  # the broker is gone: it redelivers by itself
                logger.info("could not put an operation back: %s", type(exc).__name__)

    def _on_message(self, body: Any, message: Any) -> None:
        # It has left the broker's queue, where the last reading counted it: a health reply
        # in the meantime must not count it as queued and as running at once. The depth is
        # read again as soon as this delivery has been handled.
        self.backlog = max(0, self.backlog - 1)
        self._read_backlog_at = 0.0
        try:
            request = RunOperation.model_validate(body)
        except ValidationError:
            logger.warning("dropped an unreadable operation request")
            message.ack()
            return
        key = operation_key(request.operation_id)
        with self._lock:
            previous = self._inflight.get(key)
            if previous is None:
                self._inflight[key] = message
            elif previous.channel is not message.channel:
                # Delivered again after a lost connection while it still runs here: the new
                # delivery is the one to settle when it ends (the old channel is gone).
                self._inflight[key] = message
                return
        if previous is not None:
            # A second copy of a run request while the first runs here, on the same channel:
            # the first is settled when it ends. Kept unsettled, this one would hold a
            # prefetch slot and come back, to run again, whenever the channel closed.
            logger.info("dropped a second copy of %s, which runs here", key)
            message.ack()
            return
        try:
            self._pool.submit(key, lambda cancel: self._execute(request, cancel))
        except Exception as exc:  # the pool is closing: leave it for the next dataplane
            logger.info("operation %s put back: %s", key, exc)
            with self._lock:
                self._inflight.pop(key, None)
            message.requeue()

    # --- pool workers ----------------------------------------------------------------------

    def _event(self, request: RunOperation, event: str, progress: Progress, **fields: Any) -> None:
        message = OperationEvent(
            operation_id=request.operation_id,
            attempt=request.attempt,
            boot_id=self._boot_id,
            event=event,  # type: ignore[arg-type]
            progress=progress,
            **fields,
        )
        self._events.publish(
            message, OPERATION_EVENTS_QUEUE, persistent=True, declare=operation_events_queue()
        )

    def _report_progress(self, request: RunOperation, progress: Progress) -> None:
        try:
            self._event(request, "progress", progress)
        except Exception as exc:  # progress is best effort; the final event is not
            logger.debug("progress of op-%d not sent: %s", request.operation_id, exc)

    def _report_interrupted(self, request: RunOperation, progress: Progress) -> None:
        try:
            self._event(request, "interrupted", progress)
        except Exception as exc:
            logger.warning("op-%d: interruption not reported: %s", request.operation_id, exc)

    def _execute(self, request: RunOperation, cancel: CancelToken) -> None:
        # The log lines of the whole run name the API request that started it.
        with bound_request_id(request.request_id):
            self._execute_bound(request, cancel)

    def _execute_bound(self, request: RunOperation, cancel: CancelToken) -> None:
        key = operation_key(request.operation_id)
        context = OperationContext(
            request=request,
            engine=self._engine,
            cancel=cancel,
            max_dataframe_size_mb=self._settings.max_dataframe_size_mb,
            report=lambda progress: self._report_progress(request, progress),
        )
        outcome: dict[str, Any]
        try:
            self._event(request, "started", context.progress)
            output: OperationOutput = self._run(context)
            outcome = {"result": "success", "output": output}
        except Exception as exc:
            # A Spark job cancelled under the operation fails with Spark's own error; the
            # token says whether that was a cancellation.
            if isinstance(exc, OperationCancelled) or cancel.cancelled:
                with self._lock:
                    aborted = request.operation_id in self._aborted
                if not aborted:
                    # Interrupted by a shutdown: the operation goes back on the queue, and
                    # the controlplane learns it waits to be resumed (not lost with us).
                    self._report_interrupted(request, context.progress)
                    self._settle_later(key, done=False)
                    logger.info("op-%d interrupted; put back", request.operation_id)
                    return
                outcome = {"result": "aborted", "message": "aborted on request"}
            elif isinstance(exc, OperationFailed):
                outcome = {"result": "failure", "message": str(exc)}
            else:
                logger.exception("op-%d failed unexpectedly", request.operation_id)
                outcome = {"result": "failure", "message": f"internal error: {type(exc).__name__}"}
        self._finish(request, context.progress, outcome)

    def _finish(self, request: RunOperation, progress: Progress, outcome: dict[str, Any]) -> None:
        key = operation_key(request.operation_id)
        while True:
            try:
                self._event(request, "finished", progress, **outcome)
                break
            except Exception as exc:
                if self._stop.is_set():
                    # No broker and shutting down: the message stays unacknowledged, so the
                    # operation runs again rather than its result being lost.
                    logger.warning(
                        "op-%d result not sent (%s); it will run again",
                        request.operation_id,
                        type(exc).__name__,
                    )
                    self._settle_later(key, done=False)
                    return
                time.sleep(_FINISH_RETRY_SECONDS)
        self._settle_later(key, done=True)
        logger.info("op-%d finished: %s", request.operation_id, outcome["result"])

    def _settle_later(self, key: str, done: bool) -> None:
        with self._lock:
            message = self._inflight.pop(key, None)
        if message is not None:
            self._settle.put((message, done))


def _queue_depth(channel: Any, settings: Settings) -> int:
    """Operations waiting on the broker for a free worker (a real broker reading)."""
    try:
        if is_filesystem(settings):
            return int(channel._size(OPERATIONS_QUEUE))
        declared = channel.queue_declare(queue=OPERATIONS_QUEUE, passive=True)
        return int(declared.message_count)
    except Exception:
        return 0
