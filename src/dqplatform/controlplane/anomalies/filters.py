"""The list filters of GET /api/anomalies as SQL conditions, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.models import ARCHIVED_STATUSES, OPEN_STATUSES, Anomaly
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.db.base import utcnow


@dataclass(frozen=True)
class AnomalyFilter:
    """Every list filter; empty lists and None filter nothing."""

    datastore_ids: list[int] = field(default_factory=list)
    container_ids: list[int] = field(default_factory=list)
    check_ids: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    anomaly_type: str | None = None
    tags: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    created_from: datetime | None = None
    created_to: datetime | None = None
    timeframe_days: int | None = None
    # None: open anomalies only; "include": open and archived; "only": archived only.
    archived: str | None = None
    source_enriched: bool | None = None
    operation_id: int | None = None


def conditions(session: Session, wanted: AnomalyFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if wanted.archived is None:
        where.append(Anomaly.status.in_(OPEN_STATUSES))
    elif wanted.archived == "only":
        where.append(Anomaly.status.in_(ARCHIVED_STATUSES))
    if wanted.datastore_ids:
        where.append(Anomaly.datastore_id.in_(wanted.datastore_ids))
    if wanted.container_ids:
        where.append(_in_containers(session, wanted.container_ids))
    if wanted.check_ids:
        where.append(Anomaly.check_id.in_(wanted.check_ids))
    if wanted.statuses:
        where.append(Anomaly.status.in_(wanted.statuses))
    if wanted.anomaly_type is not None:
        where.append(Anomaly.type == wanted.anomaly_type)
    if wanted.tags:
        where.append(_has_any_tag(session, wanted.tags))
    if wanted.rules:
        where.append(Anomaly.rule.in_(wanted.rules))
    if wanted.created_from is not None:
        where.append(Anomaly.created_at >= wanted.created_from)
    if wanted.created_to is not None:
        where.append(Anomaly.created_at <= wanted.created_to)
    if wanted.timeframe_days is not None:
        where.append(Anomaly.created_at >= utcnow() - timedelta(days=wanted.timeframe_days))
    if wanted.source_enriched is not None:
        stored = func.json_array_length(Anomaly.sample_rows) > 0
        where.append(stored if wanted.source_enriched else ~stored)
    if wanted.operation_id is not None:
        where.append(
            or_(
                Anomaly.operation_id == wanted.operation_id,
                Anomaly.last_operation_id == wanted.operation_id,
            )
        )
    return where


def _in_containers(session: Session, container_ids: list[int]) -> ColumnElement[bool]:
    # Anomalies name their container (as checks do); the id is the catalog's.
    places = list(
        session.execute(
            select(Container.datastore_id, Container.name).where(Container.id.in_(container_ids))
        ).tuples()
    )
    if not places:
        return false()
    return or_(
        *(and_(Anomaly.datastore_id == ds, Anomaly.container == name) for ds, name in places)
    )


def _has_any_tag(session: Session, tags: list[str]) -> ColumnElement[bool]:
    # Tags are a JSON array of names; each backend has its own way to look inside one.
    if session.get_bind().dialect.name == "postgresql":
        elements = func.json_array_elements_text(Anomaly.tags).table_valued("value")
    else:
        elements = func.json_each(Anomaly.tags).table_valued("value")
    return exists(select(1).select_from(elements).where(elements.c.value.in_(tags)))
