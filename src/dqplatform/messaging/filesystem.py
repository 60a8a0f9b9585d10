"""The embedded broker: kombu's filesystem transport, with messages that appear whole.

kombu's own transport (5.7) creates a message file under its final name and only then writes
it, so a consumer in another process can take the file while it is still empty and the
message is lost (a JSONDecodeError in the consumer; 1 message in 3,000 between two busy
processes here, enough to leave an operation queued for ever). It also claims a message by
moving it to the system's temp dir, which is a copy and not an atomic rename when that is
another filesystem, so two consumers could both take it.

Here a message is written under a name consumers skip and renamed into place once whole, and
a consumer claims it by renaming it into the broker's own processed folder (same filesystem,
so exactly one consumer wins), reads it and removes it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

# A message being written; `_get` skips it because it does not end in ".<queue>.msg".
PARTIAL_SUFFIX = ".part"


def message_name(queue: str) -> str:
    """A file name that sorts in publication order (zero-padded nanoseconds; kombu's own
    milliseconds tie within a burst and its unpadded numbers sort 999 after 1000)."""
    return f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"


def is_message_of(name: str, queue: str) -> bool:
    return name.partition(".")[2] == f"{queue}.msg"


class AtomicChannel(filesystem.Channel):
    # kombu's own base classes disagree on the name of the second parameter.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        final = os.path.join(self.data_folder_out, message_name(queue))
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.rename(partial, final)
        except OSError as exc:
            # A full or read-only disk: leave nothing half-written behind for a consumer.
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(
                f"cannot add a message to queue {queue!r}: {exc.strerror or exc}"
            ) from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        for name in sorted(os.listdir(self.data_folder_in)):
            if not is_message_of(name, queue):
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it first
            try:
                with open(claimed, "rb") as handle:
                    payload = handle.read()
            except OSError as exc:
                raise ChannelError(f"cannot read a message of queue {queue!r}") from exc
            finally:
                with contextlib.suppress(OSError):
                    os.remove(claimed)
            try:
                return loads(bytes_to_str(payload))
            except ValueError:
                # Only a file not written by this transport can be unreadable; dropping it
                # beats failing every consumer of the queue on it for ever.
                logger.warning("dropped an unreadable message file in queue %s", queue)
        raise Empty()


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicChannel
