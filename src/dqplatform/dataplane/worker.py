"""The dataplane process: connect, serve control requests, drain and exit."""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import FrameType

from pydantic import ValidationError

from dqplatform.build_info import build_info
from dqplatform.dataplane.connection_test import try_connection
from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.dispatch import run_operation
from dqplatform.dataplane.operations.files import prepare_roots
from dqplatform.dataplane.operations.runner import OperationRunner
from dqplatform.dataplane.pool import OperationPool
from dqplatform.dataplane.routes import check_routes_blocking
from dqplatform.messaging.broker import BrokerUnavailable, purge_stale_control_messages
from dqplatform.messaging.listener import Listener
from dqplatform.messaging.operations import AbortOperation
from dqplatform.messaging.publisher import Publisher
from dqplatform.messaging.schemas import (
    ConnectionTestReply,
    ConnectionTestRequest,
    DataplaneStatus,
    ErrorReply,
    HealthReply,
    HealthRequest,
    Message,
    PoolState,
    RouteCheckReply,
    RouteCheckRequest,
    ShutdownCommand,
    parse_message,
)
from dqplatform.messaging.topology import CONTROL_QUEUE, control_queue
from dqplatform.request_ids import bound_request_id
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

_CONTROL_HANDLERS = 8


class Dataplane:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.boot_id = str(uuid.uuid4())
        # Commands issued before this instant were meant for an earlier dataplane.
        self.started_at = datetime.now(UTC)
        self.engine = SparkEngine(settings)
        self.pool = OperationPool(settings.thread_pool_parallelism)
        self.replies = Publisher(settings)
        self.control = Listener(settings, control_queue(), self._on_control, "dqp-control")
        self.operations = OperationRunner(
            settings, self.engine, self.pool, self.boot_id, run_operation
        )
        self._handlers = ThreadPoolExecutor(_CONTROL_HANDLERS, thread_name_prefix="dqp-handler")
        self._stop_requested = threading.Event()
        self.stop_reason = ""

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        logger.info("dataplane %s starting (pid %d)", self.boot_id, os.getpid())
        prepare_roots(self.settings)
        self.engine.start()
        dropped = purge_stale_control_messages(self.settings, CONTROL_QUEUE)
        if dropped:
            logger.info("dropped %d control messages left from before this start", dropped)
        self.control.start()
        self.operations.start()
        try:
            # Connected up front, so the channels it holds show from the first health reply.
            self.replies.connect()
        except BrokerUnavailable as exc:
            logger.warning("reply publisher not connected yet: %s", exc)
        logger.info(
            "dataplane %s ready: Spark %s", self.boot_id, self.engine.readings().spark_version
        )

    def request_stop(self, reason: str) -> None:
        if not self._stop_requested.is_set():
            self.stop_reason = reason
            logger.info("dataplane shutdown requested: %s", reason)
            self._stop_requested.set()

    def wait(self) -> None:
        # A timed wait keeps the main thread responsive to signals.
        while not self._stop_requested.wait(0.5):
            pass

    def stop(self) -> list[str]:
        """Stop taking work, interrupt what runs, stop Spark; bounded by the grace period."""
        grace = self.settings.shutdown_grace_seconds
        watchdog = threading.Timer(grace, _force_exit, args=(grace,))
        watchdog.daemon = True
        watchdog.start()
        self.operations.stop_taking()
        self.control.stop(timeout=min(5.0, grace))
        interrupted = self.pool.shutdown(grace_seconds=max(grace - 10, grace / 2))
        self.operations.stop(timeout=min(5.0, grace))
        if interrupted:
            logger.info("interrupted operations: %s", ", ".join(interrupted))
        self._handlers.shutdown(wait=False, cancel_futures=True)
        self.engine.stop()
        self.replies.close()
        watchdog.cancel()
        logger.info("dataplane %s stopped", self.boot_id)
        return interrupted

    # --- control messages ------------------------------------------------------------------

    def _on_control(self, body: dict[str, object]) -> None:
        if body.get("kind") == "operation.abort":
            self._on_abort(body)
            return
        try:
            message = parse_message(body)
        except ValidationError:
            logger.warning("dropped an unreadable control message")
            return
        if isinstance(message, ShutdownCommand):
            self._on_shutdown(message)
        elif isinstance(message, HealthRequest | RouteCheckRequest | ConnectionTestRequest):
            if message.expired():
                logger.debug("dropped an expired %s", message.kind)
                return
            self._handlers.submit(self._answer, message)
        else:
            logger.warning("dropped an unexpected %s message", message.kind)

    def _on_abort(self, body: dict[str, object]) -> None:
        try:
            command = AbortOperation.model_validate(body)
        except ValidationError:
            logger.warning("dropped an unreadable abort command")
            return
        found = self.operations.abort(command.operation_id)
        logger.info(
            "abort of op-%d: %s",
            command.operation_id,
            "cancelling" if found else "not running here",
        )

    def _on_shutdown(self, command: ShutdownCommand) -> None:
        # Only the issue time decides: a boot id the controlplane saw may already be outdated
        # (a crash and a restart since its last probe), and the command is then still meant
        # for the dataplane that runs now.
        stale = command.issued_at < self.started_at or datetime.now(UTC) >= command.expires_at
        if stale:
            logger.info(
                "ignored a stale shutdown command %s (issued %s)",
                command.id,
                command.issued_at.isoformat(),
            )
            return
        self.request_stop(f"shutdown command {command.id} from {command.requested_by}")

    def _answer(self, request: HealthRequest | RouteCheckRequest | ConnectionTestRequest) -> None:
        with bound_request_id(request.request_id):
            self._answer_bound(request)

    def _answer_bound(
        self, request: HealthRequest | RouteCheckRequest | ConnectionTestRequest
    ) -> None:
        reply: Message
        try:
            if isinstance(request, HealthRequest):
                pool = self.pool_state()
                reply = HealthReply(
                    in_reply_to=request.id,
                    request_id=request.request_id,
                    status=self.status(pool),
                    pool=pool,
                    boot_id=self.boot_id,
                    pid=os.getpid(),
                    started_at=self.started_at,
                )
            elif isinstance(request, ConnectionTestRequest):
                ok, text, latency = try_connection(request)
                reply = ConnectionTestReply(
                    in_reply_to=request.id,
                    request_id=request.request_id,
                    ok=ok,
                    message=text,
                    latency_ms=latency,
                )
            else:
                results = check_routes_blocking(request.routes, request.timeout_seconds)
                reply = RouteCheckReply(
                    in_reply_to=request.id, request_id=request.request_id, results=results
                )
        except Exception as exc:
            logger.exception("could not answer a %s", request.kind)
            reply = ErrorReply(in_reply_to=request.id, error=type(exc).__name__)
        if request.reply_to and not request.expired():
            try:
                self.replies.publish(reply, request.reply_to, ttl_seconds=30)
            except Exception as exc:
                logger.warning("could not send a %s: %s", reply.kind, exc)

    # --- readings --------------------------------------------------------------------------

    def provisioned_channels(self) -> int:
        return self.control.channels() + self.replies.channels() + self.operations.channels()

    def pool_state(self) -> PoolState:
        return self.pool.state(
            self.provisioned_channels(), queued_elsewhere=self.operations.backlog
        )

    def status(self, pool: PoolState) -> DataplaneStatus:
        readings = self.engine.readings()
        build = build_info()
        return DataplaneStatus(
            build_date=build.build_date,
            implementation_version=build.implementation_version,
            git_hash=build.git_hash,
            spark_version=readings.spark_version,
            driver_free_memory_mb=readings.driver_free_memory_mb,
            max_executors=readings.max_executors,
            max_memory_per_executor_mb=readings.max_memory_per_executor_mb,
            cores_per_executor=readings.cores_per_executor,
            max_dataframe_size_mb=self.settings.max_dataframe_size_mb,
            thread_pool_parallelism=self.settings.thread_pool_parallelism,
            thread_pool_state=pool.describe(),
        )


def _force_exit(grace: float) -> None:
    logger.warning("shutdown did not finish within %.0f s; exiting now", grace)
    logging.shutdown()
    os._exit(0)


def run_dataplane(settings: Settings) -> int:
    """Run until a shutdown command or SIGTERM/SIGINT, then drain; returns the exit code."""
    dataplane = Dataplane(settings)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        dataplane.request_stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        dataplane.start()
    except Exception:
        logger.exception("dataplane failed to start")
        dataplane.engine.stop()
        return 1
    dataplane.wait()
    dataplane.stop()
    return 0
