"""Creating, listing, changing and removing quality checks, and the checks a scan runs.

Callers own the transaction.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.checks.schemas import CheckBody
from dqplatform.controlplane.datastores.service import require_datastore
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound
from dqplatform.messaging.operations import CheckRule, CheckSpec


def _values(data: CheckBody) -> dict[str, object]:
    return {
        "container": data.container,
        "field": data.field,
        "rule": data.rule,
        "params": data.params.model_dump(),
        "description": data.description,
    }


def create_check(session: Session, data: CheckBody) -> QualityCheck:
    require_datastore(session, data.datastore_id)
    now = utcnow()
    row = QualityCheck(
        datastore_id=data.datastore_id, **_values(data), created_at=now, updated_at=now
    )
    session.add(row)
    session.flush()
    return row


def update_check(session: Session, row: QualityCheck, data: CheckBody) -> QualityCheck:
    """Make the check `data` (a partial update already merged with the row)."""
    changed = False
    for key, value in _values(data).items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    if changed:
        row.updated_at = utcnow()
        session.flush()
    return row


def _filters(
    datastore_id: int | None, container: str | None, rule: CheckRule | None
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if datastore_id is not None:
        filters.append(QualityCheck.datastore_id == datastore_id)
    if container is not None:
        filters.append(QualityCheck.container == container)
    if rule is not None:
        filters.append(QualityCheck.rule == rule)
    return filters


def list_checks(
    session: Session,
    *,
    offset: int = 0,
    limit: int | None = None,
    datastore_id: int | None = None,
    container: str | None = None,
    rule: CheckRule | None = None,
) -> list[QualityCheck]:
    query = (
        select(QualityCheck)
        .where(*_filters(datastore_id, container, rule))
        .order_by(QualityCheck.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_checks(
    session: Session,
    *,
    datastore_id: int | None = None,
    container: str | None = None,
    rule: CheckRule | None = None,
) -> int:
    query = (
        select(func.count())
        .select_from(QualityCheck)
        .where(*_filters(datastore_id, container, rule))
    )
    return session.scalar(query) or 0


def require_check(session: Session, check_id: int) -> QualityCheck:
    row = session.get(QualityCheck, check_id)
    if row is None:
        raise NotFound(f"no quality check with id {check_id}")
    return row


def delete_check(session: Session, row: QualityCheck) -> None:
    """Delete the check; its anomalies stay, no longer linked to it."""
    session.delete(row)
    session.flush()


def checks_for(
    session: Session, datastore_id: int, container_names: list[str] | None
) -> list[CheckSpec]:
    """The datastore's checks as a scan runs them: all of them, or those on the containers
    named (none for an empty list)."""
    query = select(QualityCheck).where(QualityCheck.datastore_id == datastore_id)
    if container_names is not None:
        query = query.where(QualityCheck.container.in_(container_names))
    return [
        CheckSpec(
            id=row.id,
            container=row.container,
            field=row.field,
            rule=cast(CheckRule, row.rule),
            params=row.params,
        )
        for row in session.scalars(query.order_by(QualityCheck.id))
    ]
