"""A scan's findings become anomalies: the same failure found again updates the open
anomaly, and (by default, as the platform's user guide has it for full scans) an open
anomaly whose check ran again without finding it is resolved. Callers own the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.fingerprint import anomaly_fingerprint
from dqplatform.controlplane.anomalies.models import OPEN_STATUSES, Anomaly, AnomalyStatus
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.dataplane_values import clean_json, clean_text
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import NotFound
from dqplatform.messaging.operations import AnomalyFinding, ScanResult

logger = logging.getLogger(__name__)


def store_scan(
    session: Session,
    datastore_id: int,
    operation_id: int,
    result: ScanResult,
    *,
    auto_resolve: bool = True,
) -> int:
    """Store the scan's findings; returns how many anomalies it found (new or again).

    Each finding is matched by fingerprint (check, container, fields, rule): to the anomaly
    this same scan already stored (a redelivered result changes nothing twice), else to the
    datastore's open (Active or Acknowledged) anomaly, which gets the new counts, source
    records and message and keeps what people gave it; else it is a new Active anomaly.
    A finding whose check was deleted, or is not this datastore's, is stored unlinked.

    `auto_resolve`: open anomalies of the checks this scan judged (`result.outcomes`
    without an error) that it did not find again are archived as Resolved.
    """
    # Locked (on PostgreSQL) so that two results of one datastore stored at once, by two
    # controlplanes, cannot both add the same new anomaly; SQLite has one writer anyway.
    # FOR NO KEY UPDATE: other writers' foreign-key checks on the datastore do not wait.
    lock = {"key_share": True}
    if session.get(Datastore, datastore_id, with_for_update=lock) is None:
        raise NotFound(f"no datastore with id {datastore_id}")
    ours = _datastore_checks(session, datastore_id, [f.check_id for f in result.anomalies])
    now = utcnow()
    for finding in result.anomalies:
        _store_finding(session, datastore_id, operation_id, finding, ours, now)
    session.flush()
    if auto_resolve:
        judged = [o.check_id for o in result.outcomes if o.error is None]
        resolved = _resolve_passed(session, datastore_id, operation_id, judged, now)
        if resolved:
            logger.info("op-%d resolved %d anomalies no longer found", operation_id, resolved)
    return len(result.anomalies)


def _datastore_checks(session: Session, datastore_id: int, ids: Iterable[int]) -> set[int]:
    wanted = set(ids)
    if not wanted:
        return set()
    query = select(QualityCheck.id).where(
        QualityCheck.id.in_(wanted), QualityCheck.datastore_id == datastore_id
    )
    return set(session.scalars(query))


def _store_finding(
    session: Session,
    datastore_id: int,
    operation_id: int,
    finding: AnomalyFinding,
    ours: set[int],
    now: datetime,
) -> None:
    check_id = finding.check_id if finding.check_id in ours else None
    container = clean_text(finding.container)
    fields = [clean_text(name) for name in finding.fields]
    fingerprint = anomaly_fingerprint(check_id, container, fields, finding.rule.value)
    found: dict[str, Any] = {
        "last_operation_id": operation_id,
        "type": finding.type,
        "records": finding.records,
        "failed_records": finding.failed_records,
        "sample_rows": clean_json(finding.sample_rows),
        "message": clean_text(finding.message),
        "updated_at": now,
    }
    same = select(Anomaly).where(
        Anomaly.datastore_id == datastore_id, Anomaly.fingerprint == fingerprint
    )
    # This scan's own (an earlier delivery of this result), whatever became of it since;
    # else the open one a person may be working on.
    row = (
        session.scalars(
            same.where(Anomaly.last_operation_id == operation_id).order_by(Anomaly.id.desc())
        ).first()
        or session.scalars(
            same.where(Anomaly.status.in_(OPEN_STATUSES)).order_by(Anomaly.id.desc())
        ).first()
    )
    if row is not None:
        if row.last_operation_id > operation_id:
            return  # a result stored late: a later scan's findings are the newer ones
        for name, value in found.items():
            setattr(row, name, value)
        return
    session.add(
        Anomaly(
            operation_id=operation_id,
            datastore_id=datastore_id,
            check_id=check_id,
            container=container,
            fields=fields,
            rule=finding.rule.value,
            fingerprint=fingerprint,
            status=AnomalyStatus.ACTIVE.value,
            created_at=now,
            **found,
        )
    )
    session.flush()  # the next finding of the same failure must see this one


def _resolve_passed(
    session: Session, datastore_id: int, operation_id: int, check_ids: list[int], now: datetime
) -> int:
    if not check_ids:
        return 0
    statement = (
        update(Anomaly)
        .where(
            Anomaly.datastore_id == datastore_id,
            Anomaly.check_id.in_(set(check_ids)),
            Anomaly.status.in_(OPEN_STATUSES),
            # Found before this scan and not by it: a result stored late (a later scan's
            # result already in) must not resolve what the later scan found.
            Anomaly.last_operation_id < operation_id,
        )
        .values(status=AnomalyStatus.RESOLVED.value, archived_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    count: int = session.execute(statement).rowcount  # type: ignore[attr-defined]
    session.expire_all()
    return count
