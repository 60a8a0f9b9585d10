"""The anomalies table: one row per failed check per scan operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow

STATUSES = ("active", "acknowledged", "archived")


class Anomaly(Base):
    __tablename__ = "anomalies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: operations are kept apart; rows of an operation are replaced as a whole.
    operation_id: Mapped[int] = mapped_column(Integer, index=True)
    datastore_id: Mapped[int] = mapped_column(
        ForeignKey("datastores.id", ondelete="CASCADE"), index=True
    )
    # The anomaly outlives its check: deleting the check unlinks it.
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_checks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    container: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(String(32))
    failed_records: Mapped[int] = mapped_column(BigInteger)
    sample_rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'acknowledged', 'archived')", name="status"),
    )
