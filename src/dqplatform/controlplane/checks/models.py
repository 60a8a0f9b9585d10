"""The quality_checks table: one row per rule on a field of a container."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class QualityCheck(Base):
    __tablename__ = "quality_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    datastore_id: Mapped[int] = mapped_column(
        ForeignKey("datastores.id", ondelete="CASCADE"), index=True
    )
    # By name: a check may be written before the catalog finds its container, and outlives
    # a catalog that no longer sees it.
    container: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(String(32))
    # Validated per rule by the schemas: see messaging.operations.CheckSpec.
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "rule IN ('not_null', 'unique', 'between', 'matches_pattern', 'expected_values')",
            name="rule",
        ),
    )
