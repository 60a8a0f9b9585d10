"""Logging set-up shared by every process: one level, text or JSON lines, secrets masked."""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
REDACTED = "[redacted]"

# user:password@ in any URL (database, broker); the user name stays, it helps debugging.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@/\s]+@", re.IGNORECASE)
# A token in an Authorization header value that found its way into a message.
_BEARER = re.compile(r"(?P<head>\bBearer\s+)[^\s\"',;]+", re.IGNORECASE)
# Extras whose name says they hold a secret are never written, whatever their value.
_SECRET_NAME = re.compile(r"pass|secret|token|authorization|api_?key|credential", re.IGNORECASE)

# What every LogRecord carries; anything else on a record came from `extra=`. uvicorn adds
# `color_message`, the message again with terminal colour codes: no use in a JSON line.
_RECORD_FIELDS = frozenset(
    [
        *vars(logging.LogRecord("", 0, "", 0, "", (), None)),
        "message",
        "asctime",
        "taskName",
        "color_message",
    ]
)


def redact(text: str) -> str:
    """`text` with URL passwords and bearer tokens replaced by a marker."""
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<head>:{REDACTED}@", text)
    if "earer" in text:
        text = _BEARER.sub(rf"\g<head>{REDACTED}", text)
    return text


class TextFormatter(logging.Formatter):
    """The human format, with secrets masked in the whole line (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:
        # Before any traceback, which format() appends after this line.
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        return line if request_id is None else f"{line} [request {request_id}]"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, pid, then any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = REDACTED if _SECRET_NAME.search(key) else _plain(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False)


def _plain(value: Any) -> Any:
    """A JSON value for an extra: numbers, booleans and None as they are, the rest as text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def logging_config(level: str = "INFO", log_format: LogFormat = "text") -> dict[str, Any]:
    """A dictConfig for the whole process, uvicorn's loggers included.

    uvicorn applies it again in each worker process it spawns, so every worker logs alike.
    """
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    propagate = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"dqp": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "filters": {"request_id": {"()": "dqplatform.request_ids.RequestIdFilter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "dqp",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            # py4j logs every command it sends at INFO; that drowns our own lines.
            "py4j": {"level": "WARNING"},
            # uvicorn's own lines go through the same handler and format as ours.
            "uvicorn": dict(propagate),
            "uvicorn.error": dict(propagate),
            "uvicorn.access": dict(propagate),
        },
    }


def configure_logging(level: str = "INFO", log_format: LogFormat = "text") -> None:
    logging.config.dictConfig(logging_config(level, log_format))
