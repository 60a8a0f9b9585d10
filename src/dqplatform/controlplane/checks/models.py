"""The quality_checks table: one row per check on a container, or per check template."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class CheckStatus(StrEnum):
    ACTIVE = "Active"
    DRAFT = "Draft"


class CheckArchiveStatus(StrEnum):
    """Why an archived check was archived (the client's `status` on DELETE ?archive=true)."""

    DISCARDED = "Discarded"
    INVALID = "Invalid"
    RESOLVED = "Resolved"


class QualityCheck(Base):
    __tablename__ = "quality_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Null for a template, which belongs to no datastore.
    datastore_id: Mapped[int | None] = mapped_column(
        ForeignKey("datastores.id", ondelete="CASCADE"), index=True, nullable=True
    )
    # By name: a check may be written before the catalog finds its container, and outlives
    # a catalog that no longer sees it. The API answers with the container's current id.
    container: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The field names the rule judges, in the order given ([] for container-level rules).
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A messaging.rules.RuleType value (camelCase).
    rule: Mapped[str] = mapped_column(String(64))
    # Validated per rule by messaging.rule_properties, in the client's names.
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A Spark SQL condition selecting the records judged; null: all.
    filter: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The share (0-1) of judged records that must pass; null: all.
    coverage: Mapped[float | None] = mapped_column(Double, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=CheckStatus.ACTIVE.value)
    # Archived checks are kept (never run); `archive_status` says why.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    archive_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    is_template: Mapped[bool] = mapped_column(Boolean, default=False)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_checks.id", ondelete="SET NULL"), nullable=True, index=True
    )
    template_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Tag names (the global tags of issue 17 will give them colours and categories).
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Kept as given: the client upserts by a key in it.
    additional_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    anomaly_message_field: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    default_anomaly_assignee_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Fields a client sent that this platform does not act on, kept and echoed back.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Made by a profile (issue 16) rather than by a person.
    inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('Active', 'Draft')", name="status"),
        CheckConstraint(
            "archive_status IS NULL OR archive_status IN ('Discarded', 'Invalid', 'Resolved')",
            name="archive_status",
        ),
        CheckConstraint(
            "is_template OR (datastore_id IS NOT NULL AND container IS NOT NULL)",
            name="placed",
        ),
    )


class CheckResult(Base):
    """One check's result in one scan, passed or not: the history a volumetric or metric
    check compares its figure with, and a record of what each scan judged."""

    __tablename__ = "check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The history goes with its check.
    check_id: Mapped[int] = mapped_column(
        ForeignKey("quality_checks.id", ondelete="CASCADE"), index=True
    )
    # No foreign key, as for anomalies: operations are kept apart.
    operation_id: Mapped[int] = mapped_column(Integer, index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_records: Mapped[int] = mapped_column(BigInteger, default=0)
    # The figure a shape rule measured (record count, sum...); null for the others.
    value: Mapped[float | None] = mapped_column(Double, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # A redelivered scan result stores nothing twice.
        UniqueConstraint("check_id", "operation_id", name="uq_check_results_check_operation"),
    )
