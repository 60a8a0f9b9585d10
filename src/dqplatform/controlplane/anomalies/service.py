"""Listing anomalies and what people do with them: status, description, tags, assignees,
archive (kept, with a status) and delete. Callers own the transaction.

Bulk requests are all or nothing: every item is checked (ids exist, users exist) before
anything changes, and a bad item is a 422 naming its place in the body.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.filters import AnomalyFilter, conditions
from dqplatform.controlplane.anomalies.models import ARCHIVED_STATUSES, Anomaly
from dqplatform.controlplane.anomalies.schemas import (
    AnomalyBulkChange,
    AnomalyBulkDelete,
    AnomalyChange,
    ArchiveStatus,
)
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound
from dqplatform.controlplane.users.models import User

Loc = tuple[str | int, ...]


def list_anomalies(
    session: Session,
    wanted: AnomalyFilter,
    *,
    offset: int,
    limit: int,
    sort_created: str | None = None,
    sort_weight: str | None = None,
) -> tuple[list[Anomaly], int]:
    """One page of the anomalies `wanted` selects, and how many it selects in all.

    Newest first unless `sort_created` says otherwise; `sort_weight` orders by the number
    of failing records first (this platform's weight), then by creation.
    """
    where = conditions(session, wanted)
    order: list[ColumnElement[Any]] = []
    if sort_weight is not None:
        weight = Anomaly.failed_records
        order.append(weight.asc() if sort_weight == "asc" else weight.desc())
    oldest_first = sort_created == "asc"
    order += (
        [Anomaly.created_at.asc(), Anomaly.id.asc()]
        if oldest_first
        else [Anomaly.created_at.desc(), Anomaly.id.desc()]
    )
    rows = list(
        session.scalars(select(Anomaly).where(*where).order_by(*order).offset(offset).limit(limit))
    )
    total = session.scalar(select(func.count()).select_from(Anomaly).where(*where)) or 0
    return rows, total


def require_anomaly(session: Session, anomaly_id: int) -> Anomaly:
    row = session.get(Anomaly, anomaly_id)
    if row is None:
        raise NotFound(f"no anomaly with id {anomaly_id}")
    return row


def change(session: Session, row: Anomaly, body: AnomalyChange) -> Anomaly:
    """Apply the fields `body` gives; an open status on an archived anomaly restores it."""
    if body.assignee_ids:
        _require_users(session, {("body", "assignee_ids"): body.assignee_ids})
    _apply(row, body)
    session.flush()
    return row


def change_many(session: Session, items: list[AnomalyBulkChange]) -> list[Anomaly]:
    rows = _require_all(session, [item.id for item in items])
    _require_users(
        session,
        {("body", i, "assignee_ids"): item.assignee_ids or [] for i, item in enumerate(items)},
    )
    for item in items:
        _apply(rows[item.id], item)
    session.flush()
    return [rows[item.id] for item in items]


def archive(session: Session, row: Anomaly, status: ArchiveStatus) -> None:
    """Kept, with `status`; archived again, it takes the new status and keeps the first
    archive time."""
    if row.status not in ARCHIVED_STATUSES or row.archived_at is None:
        row.archived_at = utcnow()
    row.status = status.value
    row.updated_at = utcnow()
    session.flush()


def delete(session: Session, row: Anomaly) -> None:
    session.delete(row)
    session.flush()


def delete_many(session: Session, items: list[AnomalyBulkDelete]) -> None:
    rows = _require_all(session, [item.id for item in items])
    for item in items:
        if item.archive:
            archive(session, rows[item.id], item.status)
        else:
            session.delete(rows[item.id])
    session.flush()


def _apply(row: Anomaly, body: AnomalyChange) -> None:
    given = body.model_fields_set
    if "status" in given and body.status is not None:
        row.status = body.status.value
        row.archived_at = None
    if "description" in given:
        row.description = body.description
    if "tags" in given:
        row.tags = list(body.tags or [])
    if "assignee_ids" in given:
        row.assignee_ids = list(body.assignee_ids or [])
    row.updated_at = utcnow()


def _require_all(session: Session, ids: list[int]) -> dict[int, Anomaly]:
    errors: list[dict[str, Any]] = []
    seen: set[int] = set()
    for index, anomaly_id in enumerate(ids):
        if anomaly_id in seen:
            errors.append(_error(("body", index, "id"), f"anomaly {anomaly_id} is given twice"))
        seen.add(anomaly_id)
    rows = {r.id: r for r in session.scalars(select(Anomaly).where(Anomaly.id.in_(seen)))}
    for index, anomaly_id in enumerate(ids):
        if anomaly_id not in rows:
            errors.append(
                _error(("body", index, "id"), f"no anomaly with id {anomaly_id}; nothing changed")
            )
    if errors:
        raise RequestValidationError(errors)
    return rows


def _require_users(session: Session, wanted: dict[Loc, list[int]]) -> None:
    ids = {u for users in wanted.values() for u in users}
    if not ids:
        return
    known = set(session.scalars(select(User.id).where(User.id.in_(ids))))
    errors = [
        _error(loc, f"unknown user ids: {', '.join(str(u) for u in missing)}")
        for loc, users in wanted.items()
        if (missing := [u for u in users if u not in known])
    ]
    if errors:
        raise RequestValidationError(errors)


def _error(loc: Loc, message: str) -> dict[str, Any]:
    return {"loc": loc, "msg": message, "type": "value_error"}
