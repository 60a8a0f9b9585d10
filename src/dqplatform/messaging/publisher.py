"""A thread-safe publisher with bounded retries, used by both planes."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from kombu import Connection, Producer, Queue

from dqplatform.messaging.broker import (
    BrokerUnavailable,
    check_filesystem_broker,
    connect,
    describe_error,
)
from dqplatform.messaging.schemas import Message, encode
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)


class Publisher:
    """Publishes messages to a queue by name, reconnecting when the broker comes back."""

    def __init__(self, settings: Settings, timeout: float | None = None):
        self._settings = settings
        self._timeout = timeout or settings.probe_timeout_seconds
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None

    def _ensure(self) -> Producer:
        if self._producer is not None and self._connection is not None:
            if self._connection.connected:
                return self._producer
            self._drop()
        connection = connect(self._settings, self._timeout)
        try:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=self._timeout)
        except Exception as exc:
            connection.release()
            raise BrokerUnavailable(
                f"cannot connect to the broker: {describe_error(exc)}"
            ) from None
        self._connection = connection
        self._producer = Producer(connection.default_channel, serializer="json")
        return self._producer

    def _drop(self) -> None:
        if self._connection is not None:
            # A dead connection may fail to close; it is gone anyway.
            with contextlib.suppress(Exception):
                self._connection.release()
        self._connection = None
        self._producer = None

    def connect(self) -> None:
        """Open the connection now rather than at the first publish; raises BrokerUnavailable."""
        with self._lock:
            self._ensure()

    def publish(
        self,
        message: Message,
        queue: str,
        ttl_seconds: float | None = None,
        persistent: bool = False,
        declare: Queue | None = None,
    ) -> None:
        """Send `message` to `queue`; raises BrokerUnavailable if the broker will not take it.

        `persistent` messages are written to disk by the broker (for durable queues). A
        durable queue is given as `declare`, so that it exists before the first message:
        RabbitMQ drops what is sent to a queue nobody declared yet."""
        body = encode(message)
        properties: dict[str, Any] = {
            "correlation_id": message.id,
            "delivery_mode": 2 if persistent else 1,
        }
        if ttl_seconds is not None:
            properties["expiration"] = ttl_seconds
        if declare is not None:
            properties["declare"] = [declare]
        with self._lock:
            # One reconnect attempt: a connection the broker dropped since the last publish.
            for attempt in (1, 2):
                try:
                    producer = self._ensure()
                    producer.publish(body, routing_key=queue, exchange="", **properties)
                    return
                except BrokerUnavailable:
                    raise
                except Exception as exc:
                    self._drop()
                    if attempt == 2:
                        raise BrokerUnavailable(
                            f"the broker did not take the message: {describe_error(exc)}"
                        ) from None
                    logger.info("publish failed (%s), reconnecting once", type(exc).__name__)

    def check(self) -> None:
        """A real round trip to the broker; raises BrokerUnavailable if it fails."""
        from dqplatform.messaging.broker import is_filesystem

        if is_filesystem(self._settings):
            check_filesystem_broker(self._settings)
            return
        with self._lock:
            try:
                producer = self._ensure()
                # A passive declare of a built-in exchange is a cheap broker round trip.
                producer.channel.exchange_declare("amq.direct", "direct", passive=True)
            except BrokerUnavailable:
                raise
            except Exception as exc:
                self._drop()
                raise BrokerUnavailable(f"broker check failed: {describe_error(exc)}") from None

    def channels(self) -> int:
        from dqplatform.messaging.broker import open_channels

        with self._lock:
            return 0 if self._connection is None else open_channels(self._connection)

    def close(self) -> None:
        with self._lock:
            self._drop()
