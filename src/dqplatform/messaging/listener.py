"""A consumer thread that keeps one queue served, reconnecting with backoff."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kombu import Connection, Consumer, Queue

from dqplatform.messaging.broker import connect, open_channels
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]

_BACKOFF_START = 0.2
_BACKOFF_MAX = 5.0
_DRAIN_SECONDS = 0.5
_HEARTBEAT_SECONDS = 10


class Listener:
    """Consumes `queue` in a daemon thread and hands each JSON body to `handler`.

    The handler runs in the listener thread and must be quick; a handler error is logged and
    the message dropped, it never stops the listener. Messages are acknowledged after the
    handler returns.
    """

    def __init__(
        self,
        settings: Settings,
        queue: Queue,
        handler: Handler,
        name: str,
        requeue_on_error: bool = False,
    ):
        self._settings = settings
        self._queue = queue
        self._handler = handler
        # For messages that must not be lost (operation events): a failed handler (database
        # down) puts the message back and the listener waits a little before the next one.
        self._requeue_on_error = requeue_on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._connection: Connection | None = None
        self.ready = threading.Event()  # set while the queue is declared and consumed
        self.last_error: str | None = None

    @property
    def queue_name(self) -> str:
        return str(self._queue.name)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def channels(self) -> int:
        connection = self._connection
        return 0 if connection is None else open_channels(connection)

    def _on_message(self, body: Any, message: Any) -> None:
        try:
            if isinstance(body, dict):
                self._handler(body)
            else:
                logger.warning("dropped a message that is not a JSON object")
        except Exception as exc:
            if self._requeue_on_error:
                logger.warning("handler failed (%s); message put back", type(exc).__name__)
                message.requeue()
                self._stop.wait(_BACKOFF_MAX / 5)
                return
            logger.exception("handler failed on a %s message", type(body).__name__)
        message.ack()

    def _run(self) -> None:
        backoff = _BACKOFF_START
        while not self._stop.is_set():
            try:
                with connect(self._settings, heartbeat=_HEARTBEAT_SECONDS) as connection:
                    self._connection = connection
                    connection.ensure_connection(
                        max_retries=1,
                        interval_start=0,
                        timeout=self._settings.probe_timeout_seconds,
                    )
                    with Consumer(
                        connection,
                        queues=[self._queue],
                        accept=["json"],
                        callbacks=[self._on_message],
                        prefetch_count=64,
                    ):
                        self.ready.set()
                        self.last_error = None
                        backoff = _BACKOFF_START
                        while not self._stop.is_set():
                            try:
                                connection.drain_events(timeout=_DRAIN_SECONDS)
                            except TimeoutError:
                                connection.heartbeat_check()
            except Exception as exc:
                self.last_error = type(exc).__name__
                if self.ready.is_set():
                    logger.warning("lost the broker on %s: %s", self.queue_name, self.last_error)
            finally:
                self.ready.clear()
                self._connection = None
            if not self._stop.wait(backoff):
                backoff = min(backoff * 2, _BACKOFF_MAX)
