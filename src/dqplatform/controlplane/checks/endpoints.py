"""/api/quality-checks and /api/quality-check-templates: Members read checks; Managers and
Admins write them."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.dependencies import RequireManager, RequireMember
from dqplatform.controlplane.checks import archive as archiving
from dqplatform.controlplane.checks import queries, service
from dqplatform.controlplane.checks.models import CheckArchiveStatus
from dqplatform.controlplane.checks.rule_docs import rule_listing, rules_markdown
from dqplatform.controlplane.checks.schemas import (
    ArchiveRequest,
    CheckCreate,
    CheckPage,
    CheckRead,
    CheckUpdate,
    RuleRead,
    TemplateCreate,
)
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.paging import MAX_ID, PageNumber, PageSize, offset
from dqplatform.controlplane.validation import invalid_field
from dqplatform.messaging.rules import canonical_rule

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/quality-checks", tags=["quality checks"])
templates_router = APIRouter(prefix="/quality-check-templates", tags=["quality checks"])

Responses = dict[int | str, dict[str, Any]]
CheckId = Annotated[int, Path(ge=1, le=MAX_ID)]
_NOT_FOUND: Responses = {404: {"description": "No check with this id."}}
# The client pages by 100 (its own size); ours caps every list at paging.MAX_PAGE_SIZE too.
DEFAULT_SIZE = 100
_RULES = rules_markdown()


def _rules(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or []:
        try:
            out.append(canonical_rule(value).value)
        except ValueError as exc:
            raise RequestValidationError(
                [{"loc": ("query", "rule_type"), "msg": str(exc), "type": "value_error"}]
            ) from None
    return out


@router.get("/rules", response_model=list[RuleRead], summary="List the rule types")
def list_rules(_: RequireMember) -> list[RuleRead]:
    """Every rule type a check may use, with the fields it judges (multi: one or more,
    single: exactly one, none, calculated: any), whether it takes a filter and a coverage,
    and the JSON schema of its properties."""
    return rule_listing()


@router.get("", response_model=CheckPage, summary="List quality checks")
def list_checks(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = DEFAULT_SIZE,
    datastore: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this datastore's.")
    ] = None,
    container: Annotated[
        list[Annotated[int, Query(ge=1, le=MAX_ID)]] | None,
        Query(description="Only these containers' (ids; repeat the parameter)."),
    ] = None,
    tag: Annotated[
        list[str] | None, Query(description="Only checks with one of these tags.")
    ] = None,
    status: Annotated[Literal["Active", "Draft"] | None, Query()] = None,
    archived: Annotated[
        Literal["exclude", "include", "only"],
        Query(description="Archived checks: left out (the default), included, or only them."),
    ] = "exclude",
    template_only: Annotated[bool, Query(description="Check templates instead of checks.")] = False,
    template_locked: bool | None = None,
    rule_type: Annotated[list[str] | None, Query(description="Only these rules.")] = None,
    rule: Annotated[list[str] | None, Query(description="Same as rule_type.")] = None,
) -> CheckPage:
    """Checks by id, one page at a time."""
    filters = queries.CheckFilters(
        datastore_id=datastore,
        container_ids=tuple(container or ()),
        tags=tuple(tag or ()),
        status=status,
        archived=archived,
        template_only=template_only,
        template_locked=template_locked,
        rules=tuple(_rules(rule_type) + _rules(rule)),
    )
    return _page(session, filters, page, size)


@router.get("/{check_id}", response_model=CheckRead, summary="Get a check", responses=_NOT_FOUND)
def get_check(check_id: CheckId, session: SessionDep, _: RequireMember) -> CheckRead:
    """The check or template, archived or not."""
    return queries.read_check(session, service.require_check(session, check_id))


@router.post(
    "",
    status_code=201,
    response_model=CheckRead,
    summary="Create a check",
    description=(
        "A rule on a catalogued container. `fields` must be the container's (any case); "
        "`filter` a Spark SQL condition; `coverage` the share (0-1) of judged records that "
        "must pass; `properties` the rule's parameters, as below (`?`: optional; the full "
        "schemas at GET /api/quality-checks/rules). Fields this platform does not act on "
        "are kept and returned.\n\n" + _RULES
    ),
)
def create_check(
    body: Annotated[CheckCreate, Body()], session: SessionDep, manager: RequireManager
) -> CheckRead:
    row = service.create_check(session, body)
    logger.info("quality check %d (%s) created by %s", row.id, row.rule, manager.username)
    return queries.read_check(session, row)


@router.put("/{check_id}", response_model=CheckRead, summary="Change a check", responses=_NOT_FOUND)
def update_check(
    check_id: CheckId, body: CheckUpdate, session: SessionDep, manager: RequireManager
) -> CheckRead:
    """Change the fields given; the definition is judged again as a whole. `status`
    Active or Draft restores an archived check; a new rule needs its own properties."""
    row = service.update_check(session, service.require_check(session, check_id), body)
    logger.info("quality check %d changed by %s", row.id, manager.username)
    return queries.read_check(session, row)


@router.delete(
    "/{check_id}", status_code=204, summary="Archive or delete a check", responses=_NOT_FOUND
)
def delete_check(
    check_id: CheckId,
    session: SessionDep,
    manager: RequireManager,
    archive: Annotated[
        bool, Query(description="Archive (kept, never run) rather than delete.")
    ] = True,
    status: Annotated[
        CheckArchiveStatus, Query(description="Why it is archived.")
    ] = CheckArchiveStatus.DISCARDED,
    delete_anomalies: Annotated[
        bool,
        Query(
            description="With archive: also archive its open anomalies as Discarded "
            "(they are kept, not deleted)."
        ),
    ] = False,
) -> Response:
    """archive=true (the default) archives the check; archive=false deletes it, and its
    anomalies stay with `check_id` null."""
    row = service.require_check(session, check_id)
    if archive:
        archiving.archive_check(session, row, status, archive_anomalies=delete_anomalies)
    else:
        archiving.delete_check(session, row)
    logger.info(
        "quality check %d %s by %s",
        check_id,
        "archived" if archive else "deleted",
        manager.username,
    )
    return Response(status_code=204)


@router.delete("", status_code=204, summary="Archive or delete checks", responses=_NOT_FOUND)
def delete_checks(
    body: Annotated[list[ArchiveRequest], Body(max_length=1000)],
    session: SessionDep,
    manager: RequireManager,
) -> Response:
    """Each item as DELETE /api/quality-checks/{id} would take it; all or, if an id is
    unknown (404), none."""
    if not body:
        raise invalid_field("body", "give at least one check")
    archiving.remove_checks(session, [item.model_dump() for item in body])
    logger.info("%d quality checks removed by %s", len(body), manager.username)
    return Response(status_code=204)


@templates_router.post("", status_code=201, response_model=CheckRead, summary="Create a template")
def create_template(
    body: Annotated[TemplateCreate, Body()], session: SessionDep, manager: RequireManager
) -> CheckRead:
    """A rule with its properties on no container; checks made with its `template_id` take
    them (and, with `template_locked`, keep them: changing the template changes them)."""
    row = service.create_template(session, body)
    logger.info("check template %d (%s) created by %s", row.id, row.rule, manager.username)
    return queries.read_check(session, row)


def _page(session: Session, filters: queries.CheckFilters, page: int, size: int) -> CheckPage:
    rows = queries.list_checks(session, filters, offset=offset(page, size), limit=size)
    return CheckPage(
        items=queries.read_checks(session, rows),
        total=queries.count_checks(session, filters),
        page=page,
        size=size,
    )


@templates_router.get("", response_model=CheckPage, summary="List check templates")
def list_templates(
    session: SessionDep,
    _: RequireMember,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_SIZE,
) -> CheckPage:
    """Templates by id (as GET /api/quality-checks?template_only=true)."""
    filters = queries.CheckFilters(template_only=True, archived="include")
    return _page(session, filters, page, size)


@templates_router.get(
    "/{template_id}", response_model=CheckRead, summary="Get a template", responses=_NOT_FOUND
)
def get_template(
    template_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, _: RequireMember
) -> CheckRead:
    """The template."""
    return queries.read_check(session, service.require_check(session, template_id, template=True))
