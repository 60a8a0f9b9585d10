"""Which controlplane process sends an operation's run request, and when it counts as sent.

Every controlplane process publishes the operations it creates and, every few seconds,
those nobody has published yet. Without a claim, two of them could both find an operation
unpublished and send it twice (CI saw the endpoint's send and a reconcile's cross: a second
copy waited on the broker behind the first). A process therefore claims the right to
publish, in the database, before it sends; the claim is a lease, so an operation whose
claimant died before sending is published by another process once the lease ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.operations.models import Operation, OperationState

# How long a claim keeps other processes from publishing the same attempt. Sending is bounded
# by the broker's timeouts (a few seconds), far inside this; a claimant that died is
# replaced after at most this long.
PUBLISH_LEASE_SECONDS = 60.0


def _free(now: datetime) -> ColumnElement[bool]:
    """Queued, never sent, and nobody's claim running."""
    return (
        (Operation.result == OperationState.QUEUED)
        & Operation.end_time.is_(None)
        & Operation.published_at.is_(None)
        & or_(Operation.publish_lease_until.is_(None), Operation.publish_lease_until < now)
    )


def unpublished(session: Session, limit: int = 100, now: datetime | None = None) -> list[int]:
    """Ids of operations waiting to be sent that no process is sending now, oldest first."""
    moment = now or utcnow()
    return list(
        session.scalars(
            select(Operation.id).where(_free(moment)).order_by(Operation.id).limit(limit)
        )
    )


def claim(session: Session, operation_id: int, now: datetime | None = None) -> bool:
    """Take the right to send `operation_id` for PUBLISH_LEASE_SECONDS; False if it is sent,
    ended, or another process holds the right. Commit before sending: the claim is what
    the other processes see."""
    moment = now or utcnow()
    changed = session.execute(
        update(Operation)
        .where(Operation.id == operation_id, _free(moment))
        .values(publish_lease_until=moment + timedelta(seconds=PUBLISH_LEASE_SECONDS))
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def mark_sent(session: Session, operation_id: int, attempt: int) -> None:
    """The broker has the run request of this attempt: no process sends it again."""
    session.execute(
        update(Operation)
        .where(Operation.id == operation_id, Operation.attempt == attempt)
        .values(published_at=utcnow(), publish_lease_until=None)
    )


def release(session: Session, operation_id: int, attempt: int) -> None:
    """Sending failed: give the right back at once, so that the next reconcile retries."""
    session.execute(
        update(Operation)
        .where(
            Operation.id == operation_id,
            Operation.attempt == attempt,
            Operation.published_at.is_(None),
        )
        .values(publish_lease_until=None)
    )
