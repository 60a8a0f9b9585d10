"""The datastores table: one row per database (on a connection) or folder of files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class Datastore(Base):
    __tablename__ = "datastores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # No ON DELETE: a connection in use cannot be deleted (its service answers 409 first).
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("connections.id"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # Overrides the connection's database when set.
    database: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The PostgreSQL schema whose tables are the containers.
    schema_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    file_format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('jdbc', 'files')", name="kind"),
        CheckConstraint("file_format IS NULL OR file_format IN ('csv', 'parquet')", name="format"),
        # A JDBC datastore is on a connection; a files datastore is a path and a format.
        CheckConstraint(
            "(kind = 'jdbc' AND connection_id IS NOT NULL AND path IS NULL "
            "AND file_format IS NULL) OR (kind = 'files' AND connection_id IS NULL "
            "AND path IS NOT NULL AND file_format IS NOT NULL)",
            name="kind_fields",
        ),
    )
