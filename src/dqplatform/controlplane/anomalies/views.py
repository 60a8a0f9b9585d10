"""Anomaly rows as the API shows them, with their datastore, container, check and
assignees looked up once per page rather than once per anomaly."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.anomalies.models import ARCHIVED_STATUSES, Anomaly, AnomalyStatus
from dqplatform.controlplane.anomalies.schemas import (
    AnomalyRead,
    ContainerRef,
    FailedCheck,
    FailedCheckRef,
    FieldRef,
    Ref,
    SourceRecords,
    TagRef,
    UserRef,
)
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.datastores.models import Datastore
from dqplatform.controlplane.users.models import User


def to_reads(session: Session, rows: Sequence[Anomaly]) -> list[AnomalyRead]:
    if not rows:
        return []
    datastores = {
        d.id: d.name
        for d in session.scalars(
            select(Datastore).where(Datastore.id.in_({r.datastore_id for r in rows}))
        )
    }
    places = {(r.datastore_id, r.container) for r in rows}
    containers = {
        (c.datastore_id, c.name): c
        for c in session.scalars(
            select(Container).where(
                or_(*(and_(Container.datastore_id == d, Container.name == n) for d, n in places))
            )
        )
    }
    check_ids = {r.check_id for r in rows if r.check_id is not None}
    checks = (
        {
            c.id: c
            for c in session.scalars(select(QualityCheck).where(QualityCheck.id.in_(check_ids)))
        }
        if check_ids
        else {}
    )
    user_ids = {u for r in rows for u in r.assignee_ids}
    users = (
        {u.id: u.username for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    return [_read(r, datastores, containers, checks, users) for r in rows]


def to_read(session: Session, row: Anomaly) -> AnomalyRead:
    return to_reads(session, [row])[0]


def _read(
    row: Anomaly,
    datastores: dict[int, str],
    containers: dict[tuple[int, str], Container],
    checks: dict[int, QualityCheck],
    users: dict[int, str],
) -> AnomalyRead:
    container = containers.get((row.datastore_id, row.container))
    check = checks.get(row.check_id) if row.check_id is not None else None
    fields = [FieldRef(name=name) for name in row.fields]
    return AnomalyRead(
        id=row.id,
        created=row.created_at,
        updated=row.updated_at,
        type=row.type,  # type: ignore[arg-type]  # the table's check constraint
        status=AnomalyStatus(row.status),
        archived=row.status in ARCHIVED_STATUSES,
        archived_at=row.archived_at,
        datastore=Ref(id=row.datastore_id, name=datastores.get(row.datastore_id, "")),
        container=ContainerRef(
            id=container.id if container else None,
            name=row.container,
            container_type=container.type if container else None,
        ),
        fields=fields,
        rule_type=row.rule,
        anomalous_records_count=row.failed_records,
        checked_records_count=row.records,
        source_enriched=bool(row.sample_rows),
        failed_checks=[
            FailedCheck(
                quality_check=FailedCheckRef(
                    id=row.check_id,
                    rule_type=row.rule,
                    fields=fields,
                    description=check.description if check else None,
                    filter=check.filter if check else None,
                    coverage=check.coverage if check else None,
                    properties=check.properties if check else None,
                ),
                message=row.message,
            )
        ],
        description=row.description,
        global_tags=[TagRef(name=tag) for tag in row.tags],
        # A user deleted since is left out rather than shown by a bare id.
        assignees=[UserRef(id=u, username=users[u]) for u in row.assignee_ids if u in users],
        fingerprint=row.fingerprint,
        operation_id=row.operation_id,
        last_operation_id=row.last_operation_id,
    )


def source_records(row: Anomaly, limit: int | None) -> SourceRecords:
    records = row.sample_rows if limit is None else row.sample_rows[:limit]
    return SourceRecords(
        source_record=json.dumps(records, separators=(",", ":")),
        records=records,
        fields=list(row.fields),
        anomalous_records_count=row.failed_records,
        created=row.created_at,
        last_operation_id=row.last_operation_id,
    )
