"""A check's own failure told apart from the operation's: a check that cannot be judged
is reported with its reason, and the scan goes on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dqplatform.dataplane.operations.context import OperationContext, OperationFailed
from dqplatform.dataplane.operations.errors import root_message, scrub, secrets_of
from dqplatform.dataplane.operations.rules.base import CheckNotEvaluable
from dqplatform.dataplane.pool import OperationCancelled

T = TypeVar("T")


def _secrets(ctx: OperationContext) -> list[str]:
    """The scanned datastore's password and those of the references' datastores."""
    found = secrets_of(ctx)
    for check in ctx.request.checks:
        password = check.reference.datastore.password if check.reference else None
        if password is not None:
            found.append(password.get_secret_value())
    return found


def isolated(ctx: OperationContext, work: Callable[[], T]) -> T | str:
    """`work()`, or the scrubbed reason it failed (a check's own fault, reported with it);
    a cancellation is no check's fault and goes on up."""
    try:
        return work()
    except CheckNotEvaluable as exc:
        return str(exc)
    except (OperationFailed, OperationCancelled):
        raise
    except Exception as exc:
        if ctx.cancel.cancelled:
            raise
        return scrub(root_message(exc), _secrets(ctx))
