"""Turning what Spark and the JDBC drivers raise into a user's message without secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

from py4j.protocol import Py4JError, Py4JJavaError
from pyspark.errors import PySparkException

from dqplatform.dataplane.operations.context import OperationContext, OperationFailed
from dqplatform.dataplane.pool import OperationCancelled

logger = logging.getLogger(__name__)

MASK = "********"
_MAX_MESSAGE = 400
# Causes nested deeper than this are not followed (a cycle must not hang us).
_MAX_CAUSES = 20


def secrets_of(ctx: OperationContext) -> list[str]:
    password = ctx.request.datastore.password
    return [password.get_secret_value()] if password is not None else []


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` on one line with every secret (also URL-encoded) masked, cut to a sane length."""
    text = " ".join(text.split())
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, MASK)
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return text


def _java_root(throwable: Any) -> Any:
    for _ in range(_MAX_CAUSES):
        cause = throwable.getCause()
        if cause is None or cause.equals(throwable):
            break
        throwable = cause
    return throwable


def root_message(exc: BaseException) -> str:
    """The innermost cause's message: the driver's words, not Spark's wrapper around them."""
    origin = getattr(exc, "_origin", None)
    if origin is None and isinstance(exc, Py4JJavaError):
        origin = exc.java_exception
    if origin is not None:
        try:
            root = _java_root(origin)
            message = root.getMessage()
            name = root.getClass().getSimpleName()
            return f"{name}: {message}" if message else str(name)
        except Py4JError:
            logger.debug("the Java cause could not be read", exc_info=True)
    if isinstance(exc, PySparkException):
        return exc.getMessage() or type(exc).__name__
    return str(exc).split("\n", 1)[0] or type(exc).__name__


@contextmanager
def spark_errors(ctx: OperationContext, what: str) -> Iterator[None]:
    """Run Spark work for `what` ("reading table x"): a cancelled operation raises
    OperationCancelled, any other failure OperationFailed with a scrubbed message."""
    try:
        yield
    except (OperationFailed, OperationCancelled):
        raise
    except Exception as exc:
        if ctx.cancel.cancelled:
            raise OperationCancelled(
                f"operation {ctx.request.operation_id} was cancelled while {what}"
            ) from None
        message = scrub(f"{what} failed: {root_message(exc)}", secrets_of(ctx))
        # The traceback is left out on purpose: Java stack texts may quote connection details.
        logger.warning("operation %s: %s", ctx.request.operation_id, message)
        raise OperationFailed(message) from None
