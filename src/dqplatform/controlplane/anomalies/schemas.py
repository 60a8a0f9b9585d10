"""Request and response bodies of /api/anomalies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dqplatform.controlplane.paging import Page
from dqplatform.messaging.operations import CheckRule


class AnomalyStatus(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    ARCHIVED = "archived"


class AnomalyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AnomalyStatus


class AnomalyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    operation_id: int = Field(description="The scan that found it.")
    datastore_id: int
    check_id: int | None = Field(description="The failed check; null once it was deleted.")
    container: str
    field: str
    rule: CheckRule
    failed_records: int
    sample_rows: list[dict[str, Any]]
    message: str
    status: AnomalyStatus
    created_at: datetime


AnomalyPage = Page[AnomalyRead]
