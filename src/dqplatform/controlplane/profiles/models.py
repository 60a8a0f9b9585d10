"""The field_profiles table: one row per field per profile operation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Double, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class FieldProfile(Base):
    __tablename__ = "field_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: operations are kept apart; rows of an operation are replaced as a whole.
    operation_id: Mapped[int] = mapped_column(Integer, index=True)
    datastore_id: Mapped[int] = mapped_column(ForeignKey("datastores.id", ondelete="CASCADE"))
    # By name, not by container id: a profile stays readable when a catalog drops the table.
    container_name: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    record_count: Mapped[int] = mapped_column(BigInteger)
    nulls: Mapped[int] = mapped_column(BigInteger)
    distinct: Mapped[int] = mapped_column(BigInteger)
    # Text: the least and greatest value in the field's own type, as the dataplane wrote it.
    min: Mapped[str | None] = mapped_column(Text, nullable=True)
    max: Mapped[str | None] = mapped_column(Text, nullable=True)
    mean: Mapped[float | None] = mapped_column(Double, nullable=True)
    # Measured on a sample (the data was larger than max_dataframe_size_mb).
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # The latest profile of each field of a container.
        Index("ix_field_profiles_container", "datastore_id", "container_name", "field"),
    )
