"""The audit of dataplane restarts: who asked, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class RestartRequest(Base):
    __tablename__ = "restart_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    command_id: Mapped[str] = mapped_column(String(36))
    # The boot of the dataplane the command was aimed at, when the controlplane knew it.
    target_boot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # False when the broker refused the command (the caller got a 503).
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
