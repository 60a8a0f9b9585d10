"""/api/quality-checks: Members read checks; Managers and Admins write them."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from dqplatform.controlplane.auth.dependencies import RequireManager, RequireMember
from dqplatform.controlplane.checks import service
from dqplatform.controlplane.checks.schemas import (
    CheckCreate,
    CheckPage,
    CheckRead,
    CheckUpdate,
    check_adapter,
)
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.paging import DEFAULT_PAGE_SIZE, MAX_ID, PageNumber, PageSize, offset
from dqplatform.controlplane.validation import revalidate
from dqplatform.messaging.operations import CheckRule

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/quality-checks", tags=["quality checks"])

Responses = dict[int | str, dict[str, Any]]
CheckId = Annotated[int, Path(ge=1, le=MAX_ID)]
_NOT_FOUND: Responses = {404: {"description": "No check (or datastore) with this id."}}


@router.get("", response_model=CheckPage, summary="List quality checks")
def list_checks(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
    datastore: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this datastore's.")
    ] = None,
    container: Annotated[
        str | None, Query(max_length=1024, description="Only this container's (exact name).")
    ] = None,
    rule: CheckRule | None = None,
) -> CheckPage:
    """Checks by id, one page at a time."""
    filters: dict[str, Any] = {"datastore_id": datastore, "container": container, "rule": rule}
    rows = service.list_checks(session, offset=offset(page, size), limit=size, **filters)
    return CheckPage(
        items=[CheckRead.model_validate(row) for row in rows],
        total=service.count_checks(session, **filters),
        page=page,
        size=size,
    )


@router.get("/{check_id}", response_model=CheckRead, summary="Get a check", responses=_NOT_FOUND)
def get_check(check_id: CheckId, session: SessionDep, _: RequireMember) -> CheckRead:
    """The check."""
    return CheckRead.model_validate(service.require_check(session, check_id))


@router.post(
    "", status_code=201, response_model=CheckRead, summary="Create a check", responses=_NOT_FOUND
)
def create_check(
    body: Annotated[CheckCreate, Body()], session: SessionDep, manager: RequireManager
) -> CheckRead:
    """A rule on one field of one container: not_null and unique take no params;
    between `{"min": n, "max": n}` (inclusive); matches_pattern `{"pattern": regex}`;
    expected_values `{"values": [...]}`."""
    row = service.create_check(session, body)
    logger.info("quality check %d (%s) created by %s", row.id, row.rule, manager.username)
    return CheckRead.model_validate(row)


@router.put("/{check_id}", response_model=CheckRead, summary="Change a check", responses=_NOT_FOUND)
def update_check(
    check_id: CheckId, body: CheckUpdate, session: SessionDep, manager: RequireManager
) -> CheckRead:
    """Change the fields given; a changed rule needs the params of the new rule."""
    row = service.require_check(session, check_id)
    merged = revalidate(check_adapter, body.merged_with(row))
    row = service.update_check(session, row, merged)
    logger.info("quality check %d changed by %s", row.id, manager.username)
    return CheckRead.model_validate(row)


@router.delete("/{check_id}", status_code=204, summary="Delete a check", responses=_NOT_FOUND)
def delete_check(check_id: CheckId, session: SessionDep, manager: RequireManager) -> Response:
    """Delete the check; anomalies it found stay, with `check_id` null."""
    service.delete_check(session, service.require_check(session, check_id))
    logger.info("quality check %d deleted by %s", check_id, manager.username)
    return Response(status_code=204)
