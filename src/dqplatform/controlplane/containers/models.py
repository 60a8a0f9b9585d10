"""The containers table: what the latest catalog of each datastore found, with its fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class Container(Base):
    __tablename__ = "containers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    datastore_id: Mapped[int] = mapped_column(ForeignKey("datastores.id", ondelete="CASCADE"))
    # Text: names come from the data source (a file's path under the datastore can be long).
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    # [{"name": ..., "type": ...}] in the source's order.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    record_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # The catalog operation that last saw it (no foreign key: operations are kept apart).
    last_operation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("datastore_id", "name"),
        CheckConstraint("type IN ('table', 'view', 'file')", name="type"),
    )
