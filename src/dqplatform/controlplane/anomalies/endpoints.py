"""/api/anomalies as qualytics-cli 1.2.2 calls it: Members read; Managers and Admins
update, archive and delete. An archive request never deletes."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field

from dqplatform.controlplane.anomalies import service, views
from dqplatform.controlplane.anomalies.filters import AnomalyFilter
from dqplatform.controlplane.anomalies.models import AnomalyStatus
from dqplatform.controlplane.anomalies.schemas import (
    MAX_BULK_ITEMS,
    AnomalyBulkChange,
    AnomalyBulkDelete,
    AnomalyChange,
    AnomalyPage,
    AnomalyRead,
    ArchivedFilter,
    ArchiveStatus,
    SortOrder,
    SourceRecords,
    TagName,
)
from dqplatform.controlplane.auth.dependencies import RequireManager, RequireMember
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.operations.schemas import DateBound, lower_bound, upper_bound
from dqplatform.controlplane.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_ID,
    PageNumber,
    PageSize,
    offset,
)
from dqplatform.messaging.rules import AnomalyType, canonical_rule

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/anomalies", tags=["anomalies"])

Responses = dict[int | str, dict[str, Any]]
AnomalyId = Annotated[int, Path(ge=1, le=MAX_ID)]
# Bounded so that a huge id is a 422, not an integer overflow in the database.
IdValue = Annotated[int, Field(ge=1, le=MAX_ID)]
IdList = Annotated[list[IdValue], Query(max_length=100)]
_NOT_FOUND: Responses = {404: {"description": "No anomaly with this id."}}


def _rules(names: list[str]) -> list[str]:
    try:
        return [canonical_rule(name).value for name in names]
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("query", "rule_type"), "msg": str(exc), "type": "value_error"}]
        ) from None


@router.get("", response_model=AnomalyPage, summary="List anomalies")
def list_anomalies(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    datastore: IdList = [],  # noqa: B006 - FastAPI copies defaults
    container: IdList = [],  # noqa: B006
    quality_check: IdList = [],  # noqa: B006
    status: Annotated[list[AnomalyStatus], Query(max_length=6)] = [],  # noqa: B006
    anomaly_type: AnomalyType | None = None,
    tag: Annotated[
        list[TagName], Query(max_length=100, description="Anomalies with any of these tags.")
    ] = [],  # noqa: B006
    rule_type: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006
    start_date: DateBound | None = None,
    end_date: DateBound | None = None,
    timeframe: Annotated[
        int | None, Query(ge=1, le=36_500, description="Created in the last this many days.")
    ] = None,
    archived: Annotated[
        ArchivedFilter | None,
        Query(description="Absent: open anomalies only; include: all; only: archived only."),
    ] = None,
    sort_created: SortOrder | None = None,
    sort_weight: Annotated[
        SortOrder | None, Query(description="By the number of failing records.")
    ] = None,
    source_enriched: Annotated[
        bool | None, Query(description="Whether source records are stored.")
    ] = None,
    operation: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Found (or found again) by this scan.")
    ] = None,
) -> AnomalyPage:
    """Anomalies, newest first, one page at a time. Every filter narrows the list; repeat
    a parameter for any of several values. `container` and `quality_check` take ids;
    `start_date` and `end_date` bound the creation time (a day alone means all of it)."""
    wanted = AnomalyFilter(
        datastore_ids=datastore,
        container_ids=container,
        check_ids=quality_check,
        statuses=[s.value for s in status],
        anomaly_type=anomaly_type,
        tags=tag,
        rules=_rules(rule_type),
        created_from=lower_bound(start_date),
        created_to=upper_bound(end_date),
        timeframe_days=timeframe,
        archived=archived,
        source_enriched=source_enriched,
        operation_id=operation,
    )
    rows, total = service.list_anomalies(
        session,
        wanted,
        offset=offset(page, size),
        limit=size,
        sort_created=sort_created,
        sort_weight=sort_weight,
    )
    return AnomalyPage(items=views.to_reads(session, rows), total=total, page=page, size=size)


@router.get(
    "/{anomaly_id}", response_model=AnomalyRead, summary="Get an anomaly", responses=_NOT_FOUND
)
def get_anomaly(anomaly_id: AnomalyId, session: SessionDep, _: RequireMember) -> AnomalyRead:
    """The anomaly, open or archived."""
    return views.to_read(session, service.require_anomaly(session, anomaly_id))


@router.get(
    "/{anomaly_id}/source-record",
    response_model=SourceRecords,
    summary="An anomaly's source records",
    responses=_NOT_FOUND,
)
def get_source_records(
    anomaly_id: AnomalyId,
    session: SessionDep,
    _: RequireMember,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> SourceRecords:
    """Some of the failing records (a scan stores up to 50), as the latest scan that found
    the anomaly read them, with the fields that failed; `limit` keeps the first ones."""
    return views.source_records(service.require_anomaly(session, anomaly_id), limit)


@router.put(
    "/{anomaly_id}", response_model=AnomalyRead, summary="Update an anomaly", responses=_NOT_FOUND
)
def update_anomaly(
    anomaly_id: AnomalyId, body: AnomalyChange, session: SessionDep, manager: RequireManager
) -> AnomalyRead:
    """Set the status (Active or Acknowledged: an archived anomaly is restored), the
    description, the tags or the assignees; fields left out stay as they are."""
    row = service.change(session, service.require_anomaly(session, anomaly_id), body)
    logger.info("anomaly %d updated by %s", row.id, manager.username)
    return views.to_read(session, row)


@router.patch("", response_model=list[AnomalyRead], summary="Update anomalies")
def update_anomalies(
    body: Annotated[list[AnomalyBulkChange], Body(min_length=1, max_length=MAX_BULK_ITEMS)],
    session: SessionDep,
    manager: RequireManager,
) -> list[AnomalyRead]:
    """Each item as PUT takes it, with its `id`. All or nothing: an unknown id changes none."""
    rows = service.change_many(session, body)
    logger.info("%d anomalies updated by %s", len(rows), manager.username)
    return views.to_reads(session, rows)


@router.delete(
    "/{anomaly_id}", status_code=204, summary="Archive or delete an anomaly", responses=_NOT_FOUND
)
def delete_anomaly(
    anomaly_id: AnomalyId,
    session: SessionDep,
    manager: RequireManager,
    archive: Annotated[bool, Query(description="true: keep it, archived; false: delete.")] = True,
    status: Annotated[
        ArchiveStatus, Query(description="The archive status (ignored when deleting).")
    ] = ArchiveStatus.RESOLVED,
) -> Response:
    """Archive the anomaly with `status` (it stays readable), or with `archive=false` delete
    it for good."""
    row = service.require_anomaly(session, anomaly_id)
    if archive:
        service.archive(session, row, status)
    else:
        service.delete(session, row)
    logger.info(
        "anomaly %d %s by %s",
        anomaly_id,
        f"archived as {status.value}" if archive else "deleted",
        manager.username,
    )
    return Response(status_code=204)


@router.delete("", status_code=204, summary="Archive or delete anomalies")
def delete_anomalies(
    body: Annotated[list[AnomalyBulkDelete], Body(min_length=1, max_length=MAX_BULK_ITEMS)],
    session: SessionDep,
    manager: RequireManager,
) -> Response:
    """Each item `{id, archive (default true), status (default Resolved)}`. All or nothing:
    an unknown id changes none."""
    service.delete_many(session, body)
    logger.info("%d anomalies archived or deleted by %s", len(body), manager.username)
    return Response(status_code=204)
