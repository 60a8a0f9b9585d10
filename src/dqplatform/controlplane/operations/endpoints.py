"""/api/operations: run, list, read and abort data operations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field

from dqplatform.controlplane.auth.dependencies import RequireManager, RequireMember
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.errors import NotFound
from dqplatform.controlplane.operations import service
from dqplatform.controlplane.operations.schemas import (
    DateBound,
    OperationPage,
    OperationRead,
    OperationRun,
    TypeFilter,
    lower_bound,
    upper_bound,
)
from dqplatform.controlplane.paging import DEFAULT_PAGE_SIZE, MAX_ID, PageNumber, PageSize
from dqplatform.controlplane.state import OperationsDep
from dqplatform.controlplane.tokens.dependencies import on_commit

router = APIRouter(prefix="/operations", tags=["operations"])

OperationId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# Bounded so that a huge id is a 422, not an integer overflow in the database.
DatastoreFilter = Annotated[int, Field(ge=1, le=MAX_ID)]


@router.post("/run", response_model=OperationRead, status_code=200, summary="Run an operation")
def run_operation(
    body: OperationRun,
    session: SessionDep,
    dispatcher: OperationsDep,
    manager: RequireManager,
) -> OperationRead:
    """Queue a catalog (sync), profile or scan of a datastore; poll GET /api/operations/{id}."""
    if session.get(Datastore, body.datastore_id) is None:
        raise NotFound(f"no datastore with id {body.datastore_id}")
    operation = service.create_operation(session, body, manager.username)
    operation_id = operation.id

    # Sent once the row is committed, so the dataplane never runs an operation we forgot.
    def publish() -> None:
        dispatcher.publish(operation_id)

    on_commit(session, publish)
    return service.to_read(operation, dispatcher.live_boot_id)


@router.get("", response_model=OperationPage, summary="List operations")
def list_operations(
    session: SessionDep,
    dispatcher: OperationsDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    datastore: Annotated[list[DatastoreFilter], Query(max_length=100)] = [],  # noqa: B006
    operation_type: Annotated[list[TypeFilter], Query(max_length=5)] = [],  # noqa: B006
    result: Annotated[list[str], Query(max_length=5)] = [],  # noqa: B006
    start_date: DateBound | None = None,
    end_date: DateBound | None = None,
    sort_created: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
) -> OperationPage:
    """Operations, newest first; filter by datastore, type and result (each repeatable) and
    by creation time (`start_date` and `end_date` included; a day alone means all of it)."""
    rows, total = service.list_operations(
        session,
        page,
        size,
        datastore,
        operation_type,
        result,
        lower_bound(start_date),
        upper_bound(end_date),
        newest_first=sort_created == "desc",
    )
    live = dispatcher.live_boot_id
    return OperationPage(
        items=[service.to_read(row, live) for row in rows], total=total, page=page, size=size
    )


@router.get("/{operation_id}", response_model=OperationRead, summary="Get an operation")
def get_operation(
    operation_id: OperationId, session: SessionDep, dispatcher: OperationsDep, _: RequireMember
) -> OperationRead:
    """An operation with its progress; `end_time` is set once it has ended."""
    operation = service.require_operation(session, operation_id)
    return service.to_read(operation, dispatcher.live_boot_id)


@router.put("/abort/{operation_id}", response_model=OperationRead, summary="Abort an operation")
def abort_operation(
    operation_id: OperationId, session: SessionDep, dispatcher: OperationsDep, _: RequireManager
) -> OperationRead:
    """Abort a queued or running operation; a running one stops its Spark jobs within seconds."""
    operation = service.require_operation(session, operation_id)
    if service.request_abort(session, operation, dispatcher.live_boot_id):
        on_commit(session, lambda: dispatcher.send_abort(operation_id))
    return service.to_read(operation, dispatcher.live_boot_id)
