"""/api/connections: Members read connections; Managers and Admins create, change, delete."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from dqplatform.controlplane.auth.dependencies import RequireManager, RequireMember
from dqplatform.controlplane.connections import service
from dqplatform.controlplane.connections.dependencies import SecretsBoxDep
from dqplatform.controlplane.connections.schemas import (
    ConnectionCreate,
    ConnectionPage,
    ConnectionRead,
    ConnectionType,
    ConnectionUpdate,
)
from dqplatform.controlplane.datastores import service as datastores
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.paging import DEFAULT_PAGE_SIZE, PageNumber, PageSize, offset

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/connections", tags=["connections"])

Responses = dict[int | str, dict[str, Any]]
# Bounded so that a huge id is a 422, not an integer overflow in the database.
ConnectionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_NOT_FOUND: Responses = {404: {"description": "No connection with this id."}}
_DUPLICATE: Responses = {409: {"description": "Another connection has this name."}}


@router.get("", response_model=ConnectionPage, summary="List connections")
def list_connections(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    name: Annotated[
        str | None, Query(max_length=100, description="Part of the name, any case.")
    ] = None,
    type_: Annotated[ConnectionType | None, Query(alias="type")] = None,
) -> ConnectionPage:
    """Connections by id, one page at a time, passwords masked."""
    rows = service.list_connections(
        session, offset=offset(page, size), limit=size, name=name, type_=type_
    )
    return ConnectionPage(
        items=[ConnectionRead.from_row(row) for row in rows],
        total=service.count_connections(session, name=name, type_=type_),
        page=page,
        size=size,
    )


@router.get(
    "/{connection_id}",
    response_model=ConnectionRead,
    summary="Get a connection",
    responses=_NOT_FOUND,
)
def get_connection(
    connection_id: ConnectionId, session: SessionDep, _: RequireMember
) -> ConnectionRead:
    """The connection, password masked."""
    return ConnectionRead.from_row(service.require_connection(session, connection_id))


@router.post(
    "",
    status_code=201,
    response_model=ConnectionRead,
    summary="Create a connection",
    responses=_DUPLICATE,
)
def create_connection(
    body: ConnectionCreate,
    session: SessionDep,
    box: SecretsBoxDep,
    manager: RequireManager,
) -> ConnectionRead:
    """Store a connection; its password is encrypted and never shown again."""
    row = service.create_connection(session, body, box)
    logger.info("connection %d (%s) created by %s", row.id, row.name, manager.username)
    return ConnectionRead.from_row(row)


@router.put(
    "/{connection_id}",
    response_model=ConnectionRead,
    summary="Change a connection",
    responses={**_NOT_FOUND, **_DUPLICATE},
)
def update_connection(
    connection_id: ConnectionId,
    body: ConnectionUpdate,
    session: SessionDep,
    box: SecretsBoxDep,
    manager: RequireManager,
) -> ConnectionRead:
    """Change the fields given; an omitted password is kept, `"password": null` removes it."""
    row = service.update_connection(
        session, service.require_connection(session, connection_id), body, box
    )
    logger.info(
        "connection %d (%s) changed by %s: %s",
        row.id,
        row.name,
        manager.username,
        ", ".join(sorted(body.model_fields_set)) or "nothing",
    )
    return ConnectionRead.from_row(row)


@router.delete(
    "/{connection_id}",
    status_code=204,
    summary="Delete a connection",
    responses={**_NOT_FOUND, 409: {"description": "Something (a datastore) uses it."}},
)
def delete_connection(
    connection_id: ConnectionId, session: SessionDep, manager: RequireManager
) -> Response:
    """Delete the connection, unless a datastore uses it."""
    row = service.require_connection(session, connection_id)
    name = row.name
    service.delete_connection(session, row, datastores.datastores_on_connection(session, row.id))
    logger.info("connection %d (%s) deleted by %s", connection_id, name, manager.username)
    return Response(status_code=204)
