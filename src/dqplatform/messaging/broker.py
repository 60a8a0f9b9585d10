"""Opening broker connections for either transport, with timeouts and safe descriptions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kombu import Connection

from dqplatform.messaging.filesystem import AtomicFilesystemTransport
from dqplatform.settings import Settings

# The embedded transport polls its folder; 50 ms keeps a status probe quick at little cost.
FILESYSTEM_POLL_SECONDS = 0.05
_PROBE_BYTES = 4096


class BrokerUnavailable(Exception):
    """The broker could not be reached or would not take a message."""


def describe_error(exc: BaseException) -> str:
    """A short reason fit for users and logs: the OS's words where there are some, never a
    URL (and so never a password)."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def is_filesystem(settings: Settings) -> bool:
    return settings.resolved_broker_url.startswith("filesystem://")


def filesystem_folders(settings: Settings) -> dict[str, Path]:
    root = settings.broker_folder
    return {
        "data_folder_in": root / "queue",
        "data_folder_out": root / "queue",
        "processed_folder": root / "processed",
        "control_folder": root / "control",
    }


def connect(settings: Settings, timeout: float | None = None, heartbeat: float = 0) -> Connection:
    """A (lazy) kombu connection to the configured broker.

    Long-lived consumers ask for AMQP heartbeats so that a broker that vanished without
    closing the socket is noticed; they must then call `heartbeat_check` while they wait.
    """
    timeout = timeout or settings.probe_timeout_seconds
    options: dict[str, Any] = {}
    if is_filesystem(settings):
        folders = filesystem_folders(settings)
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        options = {key: str(value) for key, value in folders.items()}
        options["polling_interval"] = FILESYSTEM_POLL_SECONDS
        return Connection(transport=AtomicFilesystemTransport, transport_options=options)
    return Connection(
        settings.resolved_broker_url,
        connect_timeout=timeout,
        heartbeat=heartbeat,
        # Publisher confirms: a publish returns only once the broker has taken the message.
        transport_options={
            "confirm_publish": True,
            "read_timeout": timeout,
            "write_timeout": timeout,
        },
    )


def safe_url(settings: Settings) -> str:
    """The broker URL with any password masked, fit for logs and status details."""
    if is_filesystem(settings):
        return f"filesystem://{settings.broker_folder}"
    return Connection(settings.resolved_broker_url).as_uri(include_password=False)


def purge_stale_control_messages(settings: Settings, queue: str) -> int:
    """Drop what waits in the embedded broker's `queue` from before this process started.

    RabbitMQ needs no such step: the control queue is exclusive and vanished with the last
    dataplane. On the filesystem transport the files stay, and every one of them is stale.
    """
    if not is_filesystem(settings):
        return 0
    with connect(settings) as connection:
        return int(connection.default_channel.queue_purge(queue) or 0)


def check_filesystem_broker(settings: Settings) -> None:
    """The embedded broker is healthy when its queue folder is there and writable."""
    folder = filesystem_folders(settings)["data_folder_in"]
    if not folder.is_dir():
        raise BrokerUnavailable(f"queue folder {folder} is missing")
    probe = folder / f".probe-{os.getpid()}"
    try:
        # Not an empty file: that needs no space, so a full disk would pass for healthy
        # while no message fits. A block's worth is what the smallest message takes.
        probe.write_bytes(b"\0" * _PROBE_BYTES)
        probe.unlink()
    except OSError as exc:
        raise BrokerUnavailable(f"queue folder is not writable: {exc.strerror}") from None


def open_channels(connection: Connection) -> int:
    """How many channels this connection holds open on the broker right now."""
    if not connection.connected:
        return 0
    transport_connection = connection.connection
    channels = getattr(transport_connection, "channels", None)
    if isinstance(channels, dict):  # py-amqp: channel 0 is the connection itself
        return sum(1 for channel_id in channels if channel_id != 0)
    transport = connection.transport
    virtual_channels = getattr(transport, "channels", None)
    if virtual_channels is not None:  # kombu's virtual transports (filesystem, memory)
        # A virtual transport opens one spare channel when it connects; it is not in use.
        spare = getattr(transport, "_avail_channels", None) or []
        return len(virtual_channels) - len(spare)
    return 0
