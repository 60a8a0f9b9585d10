"""The bounded pool of worker threads that runs data operations, and its reported state."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from dqplatform.messaging.schemas import PoolState

logger = logging.getLogger(__name__)

# Ids appear unquoted in "N running operations [a, b] ...": they must not contain the
# characters that separate them.
_OPERATION_ID = re.compile(r"[^\s,\[\]]{1,200}")


class OperationCancelled(Exception):
    """Raised inside an operation that was asked to stop."""


class PoolClosedError(RuntimeError):
    """The pool is shut down and takes no more work."""


class CancelToken:
    """Tells an operation it should stop; cancellation callbacks abort what it waits on."""

    def __init__(self, operation_id: str):
        self.operation_id = operation_id
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise OperationCancelled(f"operation {self.operation_id} was cancelled")

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to `timeout` seconds, waking at once on cancellation; True if cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run `callback` on cancellation, in the cancelling thread (at once if cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        _run_callback(self.operation_id, callback)

    def cancel(self) -> bool:
        """Ask the operation to stop; True the first time, False if it already was."""
        with self._lock:
            if self._event.is_set():
                return False
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            _run_callback(self.operation_id, callback)
        return True


def _run_callback(operation_id: str, callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        # One failing hook (say, a JVM that no longer answers) must not stop the others.
        logger.exception("a cancellation callback of operation %s failed", operation_id)


Work = Callable[[CancelToken], None]


@dataclass(eq=False)
class _Entry:
    operation_id: str
    work: Work
    token: CancelToken
    future: Future[None] = field(default_factory=Future)


class OperationPool:
    """`parallelism` daemon threads running submitted operations in submission order."""

    def __init__(self, parallelism: int):
        if parallelism < 1:
            raise ValueError("the pool needs at least one thread")
        self.parallelism = parallelism
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: deque[_Entry] = deque()
        self._running: dict[str, _Entry] = {}  # in start order
        self._closed = False
        # Daemon threads: an operation that ignores cancellation must not keep the process
        # alive after shutdown has given up on it.
        self._threads = [
            threading.Thread(target=self._serve, name=f"dqp-op-{n}", daemon=True)
            for n in range(parallelism)
        ]
        for thread in self._threads:
            thread.start()

    # --- taking work -----------------------------------------------------------------------

    def submit(self, operation_id: str, work: Work) -> Future[None]:
        """Queue `work`; its future holds the outcome (OperationCancelled if it was stopped)."""
        if not isinstance(operation_id, str) or not _OPERATION_ID.fullmatch(operation_id):
            raise ValueError(
                "an operation id is 1 to 200 characters without spaces, commas or brackets"
            )
        entry = _Entry(operation_id, work, CancelToken(operation_id))
        with self._lock:
            if self._closed:
                raise PoolClosedError(
                    f"the operation pool is shut down; operation {operation_id} was not accepted"
                )
            if operation_id in self._running or any(
                queued.operation_id == operation_id for queued in self._queue
            ):
                raise ValueError(f"operation {operation_id} is already queued or running")
            self._queue.append(entry)
            self._changed.notify()
        # A caller cancelling the future of a queued operation takes it out of the queue.
        entry.future.add_done_callback(lambda future: self._forget_if_cancelled(entry, future))
        return entry.future

    def _forget_if_cancelled(self, entry: _Entry, future: Future[None]) -> None:
        if future.cancelled():
            with self._lock:
                if entry in self._queue:
                    self._queue.remove(entry)
                    self._changed.notify_all()

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if not self._queue:
                    return
                entry = self._queue.popleft()
                # Leaving the queue and joining `running` in one step keeps the start order.
                if not entry.future.set_running_or_notify_cancel():
                    continue
                self._running[entry.operation_id] = entry
            try:
                entry.work(entry.token)
            except BaseException as exc:
                if not isinstance(exc, OperationCancelled):
                    logger.exception("operation %s failed", entry.operation_id)
                entry.future.set_exception(exc)
            else:
                entry.future.set_result(None)
            finally:
                with self._lock:
                    self._running.pop(entry.operation_id, None)
                    self._changed.notify_all()

    # --- state -----------------------------------------------------------------------------

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def queued_count(self) -> int:
        with self._lock:
            return len(self._queue)

    def state(self, provisioned_channels: int, queued_elsewhere: int = 0) -> PoolState:
        """What runs and waits now; `queued_elsewhere` adds requests that wait outside the
        pool (on the broker)."""
        if provisioned_channels < 0 or queued_elsewhere < 0:
            raise ValueError("counts cannot be negative")
        with self._lock:
            running, queued = list(self._running), len(self._queue) + queued_elsewhere
        return PoolState(
            running=running, queued_requests=queued, provisioned_channels=provisioned_channels
        )

    @property
    def closed(self) -> bool:
        return self._closed

    # --- stopping work ---------------------------------------------------------------------

    def cancel(self, operation_id: str) -> bool:
        """Drop a queued operation or ask a running one to stop; False if it is unknown."""
        with self._lock:
            entry = self._running.get(operation_id)
            if entry is None:
                entry = next((e for e in self._queue if e.operation_id == operation_id), None)
                if entry is None:
                    return False
                self._queue.remove(entry)
        entry.token.cancel()
        entry.future.cancel()  # no effect on a running operation
        return True

    def shutdown(self, grace_seconds: float) -> list[str]:
        """Take no more work, cancel everything, wait up to `grace_seconds` for running work.

        Returns the ids that did not complete: running operations that were interrupted
        (or still run at the deadline) in start order, then the dropped queued ones.
        """
        deadline = time.monotonic() + max(0.0, grace_seconds)
        with self._lock:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            running = list(self._running.values())
            self._changed.notify_all()
        for entry in dropped:
            entry.token.cancel()
            entry.future.cancel()

        def cancel_running() -> None:
            for entry in running:
                entry.token.cancel()

        # Callbacks may call into a JVM that hangs; the deadline must hold all the same.
        threading.Thread(target=cancel_running, name="dqp-op-cancel", daemon=True).start()
        with self._lock:
            while any(entry.operation_id in self._running for entry in running):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        interrupted = [entry.operation_id for entry in running if not _succeeded(entry.future)]
        return interrupted + [entry.operation_id for entry in dropped]


def _succeeded(future: Future[None]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
