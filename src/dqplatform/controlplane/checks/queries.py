"""Reading quality checks: the client's list filters and the response bodies it reads."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.models import OPEN_STATUSES, Anomaly
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.checks.schemas import CheckRead, FieldRef, NamedRef, TagRef
from dqplatform.controlplane.containers.models import Container

ArchivedFilter = str  # "exclude" (default), "include" or "only"


@dataclass(frozen=True)
class CheckFilters:
    datastore_id: int | None = None
    container_ids: Sequence[int] = ()
    tags: Sequence[str] = ()
    status: str | None = None
    archived: ArchivedFilter = "exclude"
    template_only: bool = False
    template_locked: bool | None = None
    rules: Sequence[str] = field(default_factory=tuple)

    def clauses(self, session: Session) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = [QualityCheck.is_template.is_(self.template_only)]
        if self.datastore_id is not None:
            clauses.append(QualityCheck.datastore_id == self.datastore_id)
        if self.container_ids:
            # Checks name their container; the ids are the catalog's.
            placed = session.execute(
                select(Container.datastore_id, Container.name).where(
                    Container.id.in_(self.container_ids)
                )
            ).all()
            if not placed:
                clauses.append(QualityCheck.id.is_(None))
            else:
                clauses.append(
                    tuple_(QualityCheck.datastore_id, QualityCheck.container).in_(
                        [tuple(p) for p in placed]
                    )
                )
        if self.tags:
            # Tags are a JSON list of names: match each name as its JSON string.
            text = cast(QualityCheck.tags, Text)
            clauses.append(
                or_(*(text.contains(json.dumps(tag), autoescape=True) for tag in self.tags))
            )
        if self.status is not None:
            clauses.append(QualityCheck.status == self.status)
        if self.archived == "only":
            clauses.append(QualityCheck.archived_at.is_not(None))
        elif self.archived != "include":
            clauses.append(QualityCheck.archived_at.is_(None))
        if self.template_locked is not None:
            clauses.append(QualityCheck.template_locked.is_(self.template_locked))
        if self.rules:
            clauses.append(QualityCheck.rule.in_(list(self.rules)))
        return clauses


def list_checks(
    session: Session, filters: CheckFilters, *, offset: int = 0, limit: int | None = None
) -> list[QualityCheck]:
    query = (
        select(QualityCheck)
        .where(*filters.clauses(session))
        .order_by(QualityCheck.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_checks(session: Session, filters: CheckFilters) -> int:
    query = select(func.count()).select_from(QualityCheck).where(*filters.clauses(session))
    return session.scalar(query) or 0


def _open_anomalies(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    query = (
        select(Anomaly.check_id, func.count())
        .where(Anomaly.check_id.in_(ids), Anomaly.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(Anomaly.check_id)
    )
    return {
        int(check_id): int(n)
        for check_id, n in session.execute(query).all()
        if check_id is not None
    }


def _containers(session: Session, rows: list[QualityCheck]) -> dict[tuple[int, str], Container]:
    places = {(r.datastore_id, r.container) for r in rows if r.datastore_id is not None}
    if not places:
        return {}
    query = select(Container).where(
        tuple_(Container.datastore_id, Container.name).in_(sorted(places))  # type: ignore[arg-type]
    )
    return {(c.datastore_id, c.name): c for c in session.scalars(query)}


def read_checks(session: Session, rows: list[QualityCheck]) -> list[CheckRead]:
    """The response bodies of `rows`, with their containers and anomaly counts."""
    counts = _open_anomalies(session, [r.id for r in rows])
    containers = _containers(session, rows)
    return [_read(row, containers, counts) for row in rows]


def read_check(session: Session, row: QualityCheck) -> CheckRead:
    return read_checks(session, [row])[0]


def _read(
    row: QualityCheck,
    containers: dict[tuple[int, str], Container],
    counts: dict[int, int],
) -> CheckRead:
    container = (
        containers.get((row.datastore_id, row.container))
        if row.datastore_id is not None and row.container is not None
        else None
    )
    types = {str(f["name"]): str(f["type"]) for f in container.fields} if container else {}
    known: dict[str, Any] = {
        "id": row.id,
        "rule_type": row.rule,
        "datastore_id": row.datastore_id,
        "container": (
            NamedRef(id=container.id if container else None, name=row.container)
            if row.container is not None
            else None
        ),
        "fields": [FieldRef(name=name, type=types.get(name)) for name in row.fields],
        "coverage": row.coverage,
        "filter": row.filter,
        "properties": row.properties,
        "description": row.description,
        "global_tags": [TagRef(name=tag) for tag in row.tags],
        "status": "Archived" if row.archived_at is not None else row.status,
        "archived": row.archived_at,
        "archive_status": row.archive_status,
        "additional_metadata": row.additional_metadata,
        "anomaly_message_field": row.anomaly_message_field,
        "is_template": row.is_template,
        "template_id": row.template_id,
        "template_locked": row.template_locked,
        "owner_id": row.owner_id,
        "default_anomaly_assignee_id": row.default_anomaly_assignee_id,
        "inferred": row.inferred,
        "anomaly_count": counts.get(row.id, 0),
        "created": row.created_at,
        "updated": row.updated_at,
    }
    # What the client sent beyond our fields comes back beside them, never over them.
    extra = {k: v for k, v in (row.extra or {}).items() if k not in known}
    return CheckRead.model_validate({**known, **extra})
