"""The controlplane's link to the dataplane: requests over the broker, replies by correlation."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from concurrent.futures import Future
from typing import Any

from pydantic import ValidationError

from dqplatform.messaging.listener import Listener
from dqplatform.messaging.publisher import Publisher
from dqplatform.messaging.schemas import (
    ConnectionTestReply,
    ErrorReply,
    HealthReply,
    Request,
    RouteCheckReply,
    ShutdownCommand,
    parse_message,
)
from dqplatform.messaging.topology import CONTROL_MESSAGE_TTL_SECONDS, CONTROL_QUEUE, reply_queue
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

Reply = HealthReply | RouteCheckReply | ConnectionTestReply | ErrorReply


class DataplaneError(Exception):
    """The dataplane answered with an error, or not at all."""


class DataplaneClient:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.instance_id = uuid.uuid4().hex
        self.publisher = Publisher(settings)
        self.replies = Listener(
            settings, reply_queue(self.instance_id), self._on_reply, "dqp-replies"
        )
        self._pending: dict[str, Future[Reply]] = {}
        self._lock = threading.Lock()
        # The boot id of the dataplane that last answered: restarts are aimed at it.
        self.last_boot_id: str | None = None

    def start(self) -> None:
        self.replies.start()

    def stop(self) -> None:
        self.replies.stop()
        self.publisher.close()

    def _on_reply(self, body: dict[str, Any]) -> None:
        try:
            message = parse_message(body)
        except ValidationError:
            logger.warning("dropped an unreadable reply")
            return
        if not isinstance(
            message, HealthReply | RouteCheckReply | ConnectionTestReply | ErrorReply
        ):
            logger.warning("dropped an unexpected %s on the reply queue", message.kind)
            return
        with self._lock:
            future = self._pending.pop(message.in_reply_to, None)
        if future is None:
            return  # a reply that came after its request timed out
        if isinstance(message, HealthReply):
            self.last_boot_id = message.boot_id
        future.set_result(message)

    async def ask(self, request: Request, timeout: float) -> Reply:
        """Send `request` to the dataplane and wait up to `timeout` seconds for its reply."""
        if not self.replies.ready.is_set():
            raise DataplaneError("the reply queue is not connected to the broker")
        future: Future[Reply] = Future()
        with self._lock:
            self._pending[request.id] = future
        try:
            async with asyncio.timeout(timeout):
                await asyncio.to_thread(
                    self.publisher.publish, request, CONTROL_QUEUE, CONTROL_MESSAGE_TTL_SECONDS
                )
                reply = await asyncio.wrap_future(future)
        finally:
            with self._lock:
                self._pending.pop(request.id, None)
        if isinstance(reply, ErrorReply):
            raise DataplaneError(f"the dataplane failed to answer: {reply.error}")
        return reply

    def reply_to(self) -> str:
        return self.replies.queue_name

    def send_shutdown(self, requested_by: str) -> ShutdownCommand:
        """Publish a shutdown command (blocking); raises BrokerUnavailable if not taken."""
        command = ShutdownCommand(
            requested_by=requested_by,
            target_boot_id=self.last_boot_id,
            expires_at=Request.expiry(CONTROL_MESSAGE_TTL_SECONDS),
        )
        self.publisher.publish(command, CONTROL_QUEUE, CONTROL_MESSAGE_TTL_SECONDS)
        return command
