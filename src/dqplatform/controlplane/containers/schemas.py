"""Response bodies of /api/containers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.paging import Page


class ContainerField(BaseModel):
    name: str
    type: str = Field(description="The type as Spark reads it (string, int, decimal(10,2), ...).")


class ContainerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    datastore_id: int
    name: str
    type: str = Field(description="table, view or file.")
    field_count: int
    record_count: int | None
    last_operation_id: int | None = Field(description="The catalog operation that last saw it.")
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Container) -> ContainerRead:
        return cls(
            id=row.id,
            datastore_id=row.datastore_id,
            name=row.name,
            type=row.type,
            field_count=len(row.fields),
            record_count=row.record_count,
            last_operation_id=row.last_operation_id,
            updated_at=row.updated_at,
        )


ContainerPage = Page[ContainerRead]


class ContainerListed(BaseModel):
    """One entry of GET /api/containers/listing, which the client reads to map names to ids."""

    id: int
    name: str
    container_type: str = Field(description="table, view or file.")
    datastore_id: int
