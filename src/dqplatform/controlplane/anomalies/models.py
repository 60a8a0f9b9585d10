"""The anomalies table: one row per open failure of a check, updated by later scans that
find it again."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class AnomalyStatus(StrEnum):
    ACTIVE = "Active"
    ACKNOWLEDGED = "Acknowledged"
    # The archived ones.
    RESOLVED = "Resolved"
    INVALID = "Invalid"
    DUPLICATE = "Duplicate"
    DISCARDED = "Discarded"


OPEN_STATUSES = frozenset({AnomalyStatus.ACTIVE, AnomalyStatus.ACKNOWLEDGED})
ARCHIVED_STATUSES = frozenset(set(AnomalyStatus) - OPEN_STATUSES)


class Anomaly(Base):
    __tablename__ = "anomalies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The scan that first found it, and the latest that found it again. No foreign key:
    # operations are kept apart.
    operation_id: Mapped[int] = mapped_column(Integer, index=True)
    last_operation_id: Mapped[int] = mapped_column(Integer, index=True)
    datastore_id: Mapped[int] = mapped_column(
        ForeignKey("datastores.id", ondelete="CASCADE"), index=True
    )
    # The anomaly outlives its check: deleting the check unlinks it.
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_checks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    container: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    rule: Mapped[str] = mapped_column(String(64))
    # record: failing records (sample_rows are some of them); shape: the container failed.
    type: Mapped[str] = mapped_column(String(16))
    # Records judged (after the check's filter) and of them, those that failed.
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_records: Mapped[int] = mapped_column(BigInteger)
    # The source records, up to messaging.operations.SAMPLE_ROWS_PER_ANOMALY.
    sample_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    # Identifies the same failure across scans: (check, container, fields, rule).
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=AnomalyStatus.ACTIVE.value)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "status IN ('Active', 'Acknowledged', 'Resolved', 'Invalid', 'Duplicate', 'Discarded')",
            name="status",
        ),
        CheckConstraint("type IN ('record', 'shape')", name="type"),
    )
