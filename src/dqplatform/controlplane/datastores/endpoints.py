"""/api/datastores: Members read datastores; Managers and Admins create, change, delete."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from dqplatform.controlplane.auth.dependencies import RequireManager, RequireMember
from dqplatform.controlplane.connections.dependencies import SecretsBoxDep
from dqplatform.controlplane.connections.testing import test_connection_by_id
from dqplatform.controlplane.datastores import service
from dqplatform.controlplane.datastores.paths import require_allowed_path
from dqplatform.controlplane.datastores.schemas import (
    ConnectionCheck,
    DatastoreCreate,
    DatastoreKind,
    DatastorePage,
    DatastoreRead,
    DatastoreUpdate,
)
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.operations import service as operations
from dqplatform.controlplane.paging import DEFAULT_PAGE_SIZE, MAX_ID, PageNumber, PageSize, offset
from dqplatform.controlplane.state import SettingsDep
from dqplatform.controlplane.validation import revalidate

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/datastores", tags=["datastores"])

Responses = dict[int | str, dict[str, Any]]
DatastoreId = Annotated[int, Path(ge=1, le=MAX_ID)]
_NOT_FOUND: Responses = {404: {"description": "No datastore (or connection) with this id."}}
_DUPLICATE: Responses = {409: {"description": "Another datastore has this name."}}


@router.get("", response_model=DatastorePage, summary="List datastores")
def list_datastores(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    name: Annotated[
        str | None, Query(max_length=100, description="Part of the name, any case.")
    ] = None,
    kind: DatastoreKind | None = None,
) -> DatastorePage:
    """Datastores by id, one page at a time."""
    rows = service.list_datastores(
        session, offset=offset(page, size), limit=size, name=name, kind=kind
    )
    return DatastorePage(
        items=[DatastoreRead.model_validate(row) for row in rows],
        total=service.count_datastores(session, name=name, kind=kind),
        page=page,
        size=size,
    )


@router.get(
    "/{datastore_id}", response_model=DatastoreRead, summary="Get a datastore", responses=_NOT_FOUND
)
def get_datastore(
    datastore_id: DatastoreId, session: SessionDep, _: RequireMember
) -> DatastoreRead:
    """The datastore."""
    return DatastoreRead.model_validate(service.require_datastore(session, datastore_id))


@router.post(
    "",
    status_code=201,
    response_model=DatastoreRead,
    summary="Create a datastore",
    responses={**_NOT_FOUND, **_DUPLICATE},
)
def create_datastore(
    body: DatastoreCreate, settings: SettingsDep, session: SessionDep, manager: RequireManager
) -> DatastoreRead:
    """Store a datastore: a database on a connection, or files under an absolute path inside
    one of the folders the platform allows (DQP_FILES_ROOTS)."""
    require_allowed_path(body, settings.resolved_files_roots)
    row = service.create_datastore(session, body)
    logger.info("datastore %d (%s) created by %s", row.id, row.name, manager.username)
    return DatastoreRead.model_validate(row)


@router.put(
    "/{datastore_id}",
    response_model=DatastoreRead,
    summary="Change a datastore",
    responses={**_NOT_FOUND, **_DUPLICATE},
)
def update_datastore(
    datastore_id: DatastoreId,
    body: DatastoreUpdate,
    settings: SettingsDep,
    session: SessionDep,
    manager: RequireManager,
) -> DatastoreRead:
    """Change the fields given; null clears an optional one. The result must be valid whole,
    its path (even one left as it was) inside the allowed folders."""
    row = service.require_datastore(session, datastore_id)
    merged = revalidate(DatastoreCreate, body.merged_with(row))
    require_allowed_path(merged, settings.resolved_files_roots)
    row = service.update_datastore(session, row, merged)
    logger.info(
        "datastore %d (%s) changed by %s: %s",
        row.id,
        row.name,
        manager.username,
        ", ".join(sorted(body.model_fields_set)) or "nothing",
    )
    return DatastoreRead.model_validate(row)


@router.delete(
    "/{datastore_id}",
    status_code=204,
    summary="Delete a datastore",
    responses={**_NOT_FOUND, 409: {"description": "Something (an operation) uses it."}},
)
def delete_datastore(
    datastore_id: DatastoreId, session: SessionDep, manager: RequireManager
) -> Response:
    """Delete the datastore with its containers, profiles, checks and anomalies."""
    row = service.require_datastore(session, datastore_id)
    name = row.name
    # A datastore whose operations have all ended may go, and its history with it.
    service.delete_datastore(session, row, operations.unfinished_on_datastore(session, row.id))
    logger.info("datastore %d (%s) deleted by %s", datastore_id, name, manager.username)
    return Response(status_code=204)


@router.post(
    "/{datastore_id}/connection",
    response_model=ConnectionCheck,
    summary="Test a datastore's connection",
    responses={
        **_NOT_FOUND,
        409: {"description": "The datastore reads files: it has no connection."},
        503: {"description": "The dataplane or the broker is not available."},
    },
)
async def test_datastore_connection(
    datastore_id: DatastoreId,
    request: Request,
    session: SessionDep,
    box: SecretsBoxDep,
    _: RequireManager,
) -> ConnectionCheck:
    """Ask the dataplane to open the datastore's connection, on the datastore's database."""

    def secret() -> Any:
        return service.connection_secret(
            session, service.require_datastore(session, datastore_id), box
        )

    result = await test_connection_by_id(request, await asyncio.to_thread(secret))
    return ConnectionCheck(
        connected=result.connected, message=result.message, latency_ms=result.latency_ms
    )
