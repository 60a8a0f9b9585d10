"""The operation lifecycle in the database: create, read, abort, apply dataplane events.

Services never commit; messages that must follow a change are sent by the dispatcher after
the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound
from dqplatform.controlplane.operations.models import ENDED, Operation, OperationState
from dqplatform.controlplane.operations.options import not_applied_note
from dqplatform.controlplane.operations.schemas import (
    OperationRead,
    OperationRun,
    OperationStatus,
)
from dqplatform.messaging.operations import OperationEvent, OperationResult, OperationType

WAITING_MESSAGE = "waiting for a dataplane to resume it"


def create_operation(session: Session, data: OperationRun, created_by: str) -> Operation:
    operation = Operation(
        type=data.type,
        datastore_id=data.datastore_id,
        container_names=data.container_names,
        options=data.recorded_options(),
        result=OperationState.QUEUED,
        attempt=1,
        abort_requested=False,
        containers_analyzed=0,
        records_processed=0,
        created_by=created_by,
    )
    session.add(operation)
    session.flush()
    return operation


def require_operation(session: Session, operation_id: int) -> Operation:
    operation = session.get(Operation, operation_id)
    if operation is None:
        raise NotFound(f"no operation with id {operation_id}")
    return operation


def _filters(
    datastores: Sequence[int],
    types: Sequence[str],
    results: Sequence[str],
    start_date: datetime | None,
    end_date: datetime | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if datastores:
        conditions.append(Operation.datastore_id.in_(datastores))
    if types:
        conditions.append(Operation.type.in_(types))
    if results:
        conditions.append(Operation.result.in_(results))
    if start_date is not None:
        conditions.append(Operation.created_at >= start_date)
    if end_date is not None:
        conditions.append(Operation.created_at <= end_date)
    return conditions


def list_operations(
    session: Session,
    page: int,
    size: int,
    datastores: Sequence[int] = (),
    types: Sequence[str] = (),
    results: Sequence[str] = (),
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    newest_first: bool = True,
) -> tuple[list[Operation], int]:
    conditions = _filters(datastores, types, results, start_date, end_date)
    total = session.scalar(select(func.count()).select_from(Operation).where(*conditions)) or 0
    order = Operation.id.desc() if newest_first else Operation.id.asc()
    rows = session.scalars(
        select(Operation).where(*conditions).order_by(order).offset((page - 1) * size).limit(size)
    )
    return list(rows), total


def to_read(operation: Operation, live_boot_id: str | None) -> OperationRead:
    """The operation as users see it: never "running" on a dataplane that is gone."""
    result, message = OperationState(operation.result), operation.message
    if result == OperationState.RUNNING and operation.boot_id != live_boot_id:
        result, message = OperationState.QUEUED, WAITING_MESSAGE
    return OperationRead(
        id=operation.id,
        type=OperationType(operation.type),
        datastore_id=operation.datastore_id,
        container_names=operation.container_names,
        result=result,
        message=message,
        start_time=operation.start_time,
        end_time=operation.end_time,
        created_at=operation.created_at,
        created_by=operation.created_by,
        attempt=operation.attempt,
        status=OperationStatus(
            total_containers=operation.total_containers,
            containers_analyzed=operation.containers_analyzed,
            records_processed=operation.records_processed,
        ),
        options=operation.options or {},
    )


def catalog_prunes(operation: Operation) -> bool:
    """Whether the operation's catalog removes the containers it did not find.

    Yes unless the request said `prune: false` (qualytics-cli does unless asked to prune;
    our own clients never send it), and never for a catalog of named containers, which did
    not look for the others.
    """
    return bool((operation.options or {}).get("prune", True)) and operation.container_names is None


def request_abort(session: Session, operation: Operation, live_boot_id: str | None) -> bool:
    """Abort `operation`. True when a dataplane must be told (it may be running it)."""
    if operation.result in ENDED:
        return False
    running_live = operation.boot_id is not None and operation.boot_id == live_boot_id
    if running_live:
        # The dataplane cancels its Spark jobs and answers with a "finished: aborted" event.
        operation.abort_requested = True
        session.flush()
        return True
    # Not on a live dataplane: nothing runs it now, so it ends here.
    _end(operation, OperationState.ABORTED, "aborted on request")
    operation.abort_requested = True
    session.flush()
    return True


def fail_before_start(session: Session, operation: Operation, message: str) -> None:
    """End an operation that could not even be queued (its datastore is not usable)."""
    _end(operation, OperationState.FAILURE, message)
    session.flush()


def _end(operation: Operation, result: OperationState, message: str | None) -> None:
    operation.result = result
    operation.message = message
    operation.end_time = utcnow()


def apply_event(session: Session, event: OperationEvent) -> Operation | None:
    """Record a dataplane event; returns the operation if the event counted, else None.

    Events of another attempt, and any event after the operation ended, are ignored: a
    result is recorded once, whatever the broker delivers twice.
    """
    operation = session.get(Operation, event.operation_id, with_for_update=True)
    if operation is None or operation.end_time is not None:
        return None
    if event.attempt != operation.attempt:
        return None
    progress = event.progress
    if event.event == "interrupted":
        if operation.boot_id == event.boot_id:
            # Back on the queue, for the next dataplane: not lost, not running.
            operation.result = OperationState.QUEUED
            operation.boot_id = None
        session.flush()
        return operation
    if event.event == "started":
        operation.result = OperationState.RUNNING
        operation.boot_id = event.boot_id
        operation.start_time = operation.start_time or utcnow()
        operation.message = None
    if progress.total_containers is not None:
        operation.total_containers = progress.total_containers
    operation.containers_analyzed = max(operation.containers_analyzed, progress.containers_analyzed)
    operation.records_processed = max(operation.records_processed, progress.records_processed)
    if event.event == "finished" and event.result is not None:
        operation.start_time = operation.start_time or utcnow()
        message = event.message
        if event.result == OperationResult.SUCCESS and message is None:
            # The public client prints a successful operation's message as a warning.
            message = not_applied_note(operation.options or {})
        _end(operation, OperationState(event.result), message)
    session.flush()
    return operation


def orphaned(session: Session, live_boot_id: str) -> list[Operation]:
    """Operations a dataplane other than the live one took and never finished."""
    return list(
        session.scalars(
            select(Operation).where(
                Operation.end_time.is_(None),
                Operation.boot_id.is_not(None),
                Operation.boot_id != live_boot_id,
            )
        )
    )


def start_new_attempt(session: Session, operation: Operation) -> bool:
    """Re-enqueue an orphaned operation as a new attempt; False if another process did."""
    changed = session.execute(
        update(Operation)
        .where(
            Operation.id == operation.id,
            Operation.attempt == operation.attempt,
            Operation.end_time.is_(None),
        )
        .values(
            attempt=operation.attempt + 1,
            boot_id=None,
            result=OperationState.QUEUED,
            published_at=None,
            publish_lease_until=None,
            message=WAITING_MESSAGE,
        )
    )
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def unfinished_on_datastore(session: Session, datastore_id: int) -> list[str]:
    """What keeps a datastore from being deleted: its operations that have not ended."""
    ids = session.scalars(
        select(Operation.id).where(
            Operation.datastore_id == datastore_id, Operation.end_time.is_(None)
        )
    )
    return [f"operation {operation_id}" for operation_id in ids]


def count_operations(session: Session) -> dict[tuple[str, str], int]:
    """Operations by (type, result) for the metrics, every known pair present, zeros
    included."""
    counts = {(kind.value, state.value): 0 for kind in OperationType for state in OperationState}
    query = select(Operation.type, Operation.result, func.count()).group_by(
        Operation.type, Operation.result
    )
    for kind, result, count in session.execute(query):
        counts[(kind, result)] = int(count)
    return counts
