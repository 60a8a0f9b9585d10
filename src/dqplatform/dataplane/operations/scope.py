"""The frame every operation's Spark work runs in: its job group and the abort hook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dqplatform.dataplane.operations.context import OperationContext


@contextmanager
def operation_scope(ctx: OperationContext) -> Iterator[None]:
    """Tag this thread's Spark jobs with the operation's job group; cancelling the token
    cancels the group, so an abort stops a running job within seconds, not at its end."""
    group = ctx.job_group
    ctx.cancel.on_cancel(lambda: ctx.engine.cancel_job_group(group))
    ctx.cancel.raise_if_cancelled()
    with ctx.engine.job_group(group, f"operation {ctx.request.operation_id} ({ctx.request.type})"):
        yield
