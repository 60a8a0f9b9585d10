"""The id of the API request being served, carried into the messages it causes and into
every log line written on its behalf, on both planes.

The controlplane binds it for the duration of a request (the X-Request-ID header a caller
sent, if it is a plausible id, else a new one); `Message.request_id` takes it by default;
the dataplane binds a message's request id while it handles that message.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"

current_request_id: ContextVar[str | None] = ContextVar("dqp_request_id", default=None)

# A caller's id is echoed into logs and headers: only short, printable, unambiguous ones.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def accept_request_id(offered: str | None) -> str:
    """The caller's id when it is acceptable, else a new random one."""
    if offered is not None and _ACCEPTABLE.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    token = current_request_id.set(request_id)
    try:
        yield
    finally:
        current_request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the bound request id on every record as `request_id` (absent when none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True
