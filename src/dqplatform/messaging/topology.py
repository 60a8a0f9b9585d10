"""Queue names and their arguments, shared by the controlplane and the dataplane."""

from __future__ import annotations

from kombu import Queue

# Requests for the running dataplane instance: health, route checks, shutdown.
CONTROL_QUEUE = "dqp.dataplane.control"
# Replies come back to a queue owned by one controlplane process.
REPLY_QUEUE_PREFIX = "dqp.controlplane.reply."

# A control message nobody took within this time is worthless: a health request has long been
# answered "UNHEALTHY", a shutdown was meant for a dataplane that is gone.
CONTROL_MESSAGE_TTL_SECONDS = 30


def control_queue() -> Queue:
    """The dataplane's control queue.

    On RabbitMQ it is exclusive and auto-deleted: it exists only while a dataplane is connected,
    so a command sent while none runs is dropped by the broker instead of waiting for the next
    one (which must never be shut down by a restart meant for its predecessor).
    """
    return Queue(
        CONTROL_QUEUE,
        exchange=None,
        routing_key=CONTROL_QUEUE,
        exclusive=True,
        auto_delete=True,
        durable=False,
        queue_arguments={"x-message-ttl": CONTROL_MESSAGE_TTL_SECONDS * 1000},
    )


def reply_queue(instance_id: str) -> Queue:
    name = f"{REPLY_QUEUE_PREFIX}{instance_id}"
    return Queue(
        name,
        exchange=None,
        routing_key=name,
        exclusive=True,
        auto_delete=True,
        durable=False,
        queue_arguments={"x-message-ttl": CONTROL_MESSAGE_TTL_SECONDS * 1000},
    )
