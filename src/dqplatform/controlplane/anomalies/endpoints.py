"""/api/anomalies: Members read anomalies; Managers and Admins change their status or
delete them."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from dqplatform.controlplane.anomalies import service
from dqplatform.controlplane.anomalies.schemas import (
    AnomalyPage,
    AnomalyRead,
    AnomalyStatus,
    AnomalyUpdate,
)
from dqplatform.controlplane.auth.dependencies import RequireManager, RequireMember
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.paging import DEFAULT_PAGE_SIZE, MAX_ID, PageNumber, PageSize, offset

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/anomalies", tags=["anomalies"])

Responses = dict[int | str, dict[str, Any]]
AnomalyId = Annotated[int, Path(ge=1, le=MAX_ID)]
_NOT_FOUND: Responses = {404: {"description": "No anomaly with this id."}}


@router.get("", response_model=AnomalyPage, summary="List anomalies")
def list_anomalies(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    datastore: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this datastore's.")
    ] = None,
    operation: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only those this scan found.")
    ] = None,
    status: AnomalyStatus | None = None,
) -> AnomalyPage:
    """Anomalies, newest first, one page at a time."""
    filters: dict[str, Any] = {
        "datastore_id": datastore,
        "operation_id": operation,
        "status": status,
    }
    rows = service.list_anomalies(session, offset=offset(page, size), limit=size, **filters)
    return AnomalyPage(
        items=[AnomalyRead.model_validate(row) for row in rows],
        total=service.count_anomalies(session, **filters),
        page=page,
        size=size,
    )


@router.get(
    "/{anomaly_id}", response_model=AnomalyRead, summary="Get an anomaly", responses=_NOT_FOUND
)
def get_anomaly(anomaly_id: AnomalyId, session: SessionDep, _: RequireMember) -> AnomalyRead:
    """The anomaly with its sample rows."""
    return AnomalyRead.model_validate(service.require_anomaly(session, anomaly_id))


@router.put(
    "/{anomaly_id}",
    response_model=AnomalyRead,
    summary="Change an anomaly's status",
    responses=_NOT_FOUND,
)
def update_anomaly(
    anomaly_id: AnomalyId, body: AnomalyUpdate, session: SessionDep, manager: RequireManager
) -> AnomalyRead:
    """Set the status: active, acknowledged or archived."""
    row = service.set_status(session, service.require_anomaly(session, anomaly_id), body.status)
    logger.info("anomaly %d set %s by %s", row.id, row.status, manager.username)
    return AnomalyRead.model_validate(row)


@router.delete("/{anomaly_id}", status_code=204, summary="Delete an anomaly", responses=_NOT_FOUND)
def delete_anomaly(anomaly_id: AnomalyId, session: SessionDep, manager: RequireManager) -> Response:
    """Delete the anomaly."""
    service.delete_anomaly(session, service.require_anomaly(session, anomaly_id))
    logger.info("anomaly %d deleted by %s", anomaly_id, manager.username)
    return Response(status_code=204)
