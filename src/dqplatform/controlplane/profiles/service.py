"""Storing a profile operation's measurements and reading the latest. Callers own the
transaction."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.dataplane_values import MAX_DATA_TEXT, clean_float, clean_text
from dqplatform.controlplane.datastores.service import require_datastore
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.profiles.models import FieldProfile
from dqplatform.messaging.operations import ProfileResult


def _data_text(value: str | None) -> str | None:
    return None if value is None else clean_text(value, MAX_DATA_TEXT)


def store_profile(
    session: Session, datastore_id: int, operation_id: int, result: ProfileResult
) -> int:
    """Store the operation's profiles in place of any it stored before (an earlier attempt);
    returns how many. Storing the same result twice leaves the same rows."""
    require_datastore(session, datastore_id)
    session.execute(delete(FieldProfile).where(FieldProfile.operation_id == operation_id))
    now = utcnow()
    rows = [
        {
            "operation_id": operation_id,
            "datastore_id": datastore_id,
            "container_name": clean_text(p.container),
            "field": clean_text(p.field),
            "type": clean_text(p.type),
            "record_count": p.record_count,
            "nulls": p.nulls,
            "distinct": p.distinct,
            "min": _data_text(p.min),
            "max": _data_text(p.max),
            "mean": clean_float(p.mean),
            "sampled": p.sampled,
            "created_at": now,
        }
        for p in result.profiles
    ]
    if rows:
        session.execute(insert(FieldProfile), rows)
    return len(rows)


def latest_profiles(session: Session, datastore_id: int, container_name: str) -> list[FieldProfile]:
    """The most recently stored profile of each field of the container, by field name."""
    latest = (
        select(func.max(FieldProfile.id))
        .where(
            FieldProfile.datastore_id == datastore_id,
            FieldProfile.container_name == container_name,
        )
        .group_by(FieldProfile.field)
    )
    query = select(FieldProfile).where(FieldProfile.id.in_(latest)).order_by(FieldProfile.field)
    return list(session.scalars(query))


def profiles_of_operation(session: Session, operation_id: int) -> list[FieldProfile]:
    query = select(FieldProfile).where(FieldProfile.operation_id == operation_id)
    return list(session.scalars(query.order_by(FieldProfile.id)))
