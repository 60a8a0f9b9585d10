"""Archiving and deleting quality checks: an archive never deletes anything.

Callers own the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.models import OPEN_STATUSES, Anomaly, AnomalyStatus
from dqplatform.controlplane.checks.models import CheckArchiveStatus, QualityCheck
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound


def archive_check(
    session: Session,
    row: QualityCheck,
    status: CheckArchiveStatus = CheckArchiveStatus.DISCARDED,
    *,
    archive_anomalies: bool = False,
) -> None:
    """Archive the check (kept, never run again); with `archive_anomalies`, its open
    anomalies are archived as Discarded too. Nothing is deleted."""
    now = utcnow()
    row.archived_at = row.archived_at or now
    row.archive_status = status.value
    row.updated_at = now
    if archive_anomalies:
        session.execute(
            update(Anomaly)
            .where(
                Anomaly.check_id == row.id,
                Anomaly.status.in_([s.value for s in OPEN_STATUSES]),
            )
            .values(status=AnomalyStatus.DISCARDED.value, archived_at=now, updated_at=now)
        )
    session.flush()


def delete_check(session: Session, row: QualityCheck) -> None:
    """Delete the check; its anomalies stay, no longer linked to it."""
    session.delete(row)
    session.flush()


def remove_checks(session: Session, items: list[dict[str, Any]]) -> None:
    """Archive or delete each of `items` ({id, archive, status, delete_anomalies}); all of
    them or, if one id is unknown, none."""
    rows = {item["id"]: session.get(QualityCheck, item["id"]) for item in items}
    missing = sorted(check_id for check_id, row in rows.items() if row is None)
    if missing:
        raise NotFound(f"no quality check with id {', '.join(map(str, missing))}")
    for item in items:
        row = rows[item["id"]]
        assert row is not None
        if item["archive"]:
            archive_check(session, row, item["status"], archive_anomalies=item["delete_anomalies"])
        else:
            delete_check(session, row)
