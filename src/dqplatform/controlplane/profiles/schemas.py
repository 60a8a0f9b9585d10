"""Response bodies of field profiles."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class FieldProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    operation_id: int
    datastore_id: int
    container_name: str
    field: str
    type: str
    record_count: int
    nulls: int
    distinct: int
    min: str | None
    max: str | None
    mean: float | None = Field(description="Numeric fields only.")
    sampled: bool = Field(description="Measured on a sample of the records.")
    created_at: datetime
