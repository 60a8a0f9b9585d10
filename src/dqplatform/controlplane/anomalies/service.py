"""Storing a scan's anomalies, listing them and changing their status. Callers own the
transaction."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.models import Anomaly
from dqplatform.controlplane.anomalies.schemas import AnomalyStatus
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.dataplane_values import clean_json, clean_text
from dqplatform.controlplane.datastores.service import require_datastore
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound
from dqplatform.messaging.operations import ScanResult

_Key = tuple[int | None, str, str, str]


def store_scan(session: Session, datastore_id: int, operation_id: int, result: ScanResult) -> int:
    """Store the scan's anomalies in place of any it stored before (an earlier attempt);
    returns how many. A status someone already gave an anomaly of the same check is kept.

    A finding whose check was deleted during the scan (or is not this datastore's) is
    stored unlinked, with `check_id` null.
    """
    require_datastore(session, datastore_id)
    wanted = {finding.check_id for finding in result.anomalies}
    existing_checks = set(
        session.scalars(
            select(QualityCheck.id).where(
                QualityCheck.id.in_(wanted), QualityCheck.datastore_id == datastore_id
            )
        )
    )
    previous: dict[_Key, str] = {
        (check_id, container, field, rule): status
        for check_id, container, field, rule, status in session.execute(
            select(
                Anomaly.check_id, Anomaly.container, Anomaly.field, Anomaly.rule, Anomaly.status
            ).where(Anomaly.operation_id == operation_id)
        )
    }
    session.execute(delete(Anomaly).where(Anomaly.operation_id == operation_id))
    now = utcnow()
    rows = []
    for finding in result.anomalies:
        check_id = finding.check_id if finding.check_id in existing_checks else None
        container, field = clean_text(finding.container), clean_text(finding.field)
        key = (check_id, container, field, finding.rule)
        rows.append(
            {
                "operation_id": operation_id,
                "datastore_id": datastore_id,
                "check_id": check_id,
                "container": container,
                "field": field,
                "rule": finding.rule,
                "failed_records": finding.failed_records,
                "sample_rows": clean_json(finding.sample_rows),
                "message": clean_text(finding.message),
                "status": previous.get(key, AnomalyStatus.ACTIVE.value),
                "created_at": now,
            }
        )
    if rows:
        session.execute(insert(Anomaly), rows)
    return len(rows)


def _filters(
    datastore_id: int | None, operation_id: int | None, status: AnomalyStatus | None
) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if datastore_id is not None:
        filters.append(Anomaly.datastore_id == datastore_id)
    if operation_id is not None:
        filters.append(Anomaly.operation_id == operation_id)
    if status is not None:
        filters.append(Anomaly.status == status.value)
    return filters


def list_anomalies(
    session: Session,
    *,
    offset: int = 0,
    limit: int | None = None,
    datastore_id: int | None = None,
    operation_id: int | None = None,
    status: AnomalyStatus | None = None,
) -> list[Anomaly]:
    """Anomalies, newest first."""
    query = (
        select(Anomaly)
        .where(*_filters(datastore_id, operation_id, status))
        .order_by(Anomaly.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_anomalies(
    session: Session,
    *,
    datastore_id: int | None = None,
    operation_id: int | None = None,
    status: AnomalyStatus | None = None,
) -> int:
    query = (
        select(func.count())
        .select_from(Anomaly)
        .where(*_filters(datastore_id, operation_id, status))
    )
    return session.scalar(query) or 0


def require_anomaly(session: Session, anomaly_id: int) -> Anomaly:
    row = session.get(Anomaly, anomaly_id)
    if row is None:
        raise NotFound(f"no anomaly with id {anomaly_id}")
    return row


def set_status(session: Session, row: Anomaly, status: AnomalyStatus) -> Anomaly:
    row.status = status.value
    session.flush()
    return row


def delete_anomaly(session: Session, row: Anomaly) -> None:
    session.delete(row)
    session.flush()
