"""The operations table: one row per requested operation, through all its attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow
from dqplatform.messaging.operations import OperationResult


class OperationState(StrEnum):
    """The result column: queued, then running, then how the dataplane said it ended (an
    OperationResult, the same values) or failed and aborted by the controlplane itself."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = OperationResult.SUCCESS.value
    FAILURE = OperationResult.FAILURE.value
    ABORTED = OperationResult.ABORTED.value


ENDED = frozenset(OperationState(result) for result in OperationResult)


class Operation(Base):
    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    datastore_id: Mapped[int] = mapped_column(
        ForeignKey("datastores.id", ondelete="CASCADE"), index=True
    )
    container_names: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Options a client sent that this platform records but does not act on.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str] = mapped_column(String(16), default=OperationState.QUEUED, index=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Each delivery to a dataplane that is lost (the dataplane died) starts a new attempt;
    # events of older attempts are ignored, so a result is recorded exactly once.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    boot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set while one controlplane process sends the run request (publication.py).
    publish_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    abort_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    total_containers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    containers_analyzed: Mapped[int] = mapped_column(Integer, default=0)
    records_processed: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
