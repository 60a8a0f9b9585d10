"""Request and response bodies of /api/operations (compatible with the public qualytics-cli)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# "sync" is what the public client calls a catalog operation.
RequestedType = Literal["catalog", "sync", "profile", "scan"]
# Accepted so that the public client's requests validate; recorded, not acted on.
RECORDED_OPTIONS = (
    "include",
    "prune",
    "recreate",
    "incremental",
    "container_tags",
    "ai_effort",
    "infer_as_draft",
    "max_records_analyzed_per_partition",
    "max_count_testing_sample",
    "percent_testing_threshold",
    "high_correlation_threshold",
    "greater_than_time",
    "greater_than_batch",
    "histogram_max_distinct_values",
    "auto_resolve_passed_anomalies",
    "enrichment_source_record_limit",
)


class OperationRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: RequestedType = Field(description="catalog (alias: sync), profile or scan.")
    datastore_id: int = Field(ge=1, le=2**31 - 1)
    container_names: list[str] | None = Field(
        default=None, max_length=1000, description="Tables or files to include; all if absent."
    )
    include: list[str] | None = None
    prune: bool | None = None
    recreate: bool | None = None
    incremental: bool | None = None
    container_tags: list[str] | None = Field(default=None, max_length=100)
    ai_effort: str | None = Field(default=None, max_length=16)
    infer_as_draft: bool | None = None
    max_records_analyzed_per_partition: int | None = None
    max_count_testing_sample: int | None = None
    percent_testing_threshold: float | None = None
    high_correlation_threshold: float | None = None
    greater_than_time: str | None = Field(default=None, max_length=64)
    greater_than_batch: float | None = None
    histogram_max_distinct_values: int | None = None
    auto_resolve_passed_anomalies: bool | None = None
    enrichment_source_record_limit: int | None = None

    @property
    def operation_type(self) -> str:
        return "catalog" if self.type == "sync" else self.type

    def recorded_options(self) -> dict[str, Any]:
        return {
            name: value for name in RECORDED_OPTIONS if (value := getattr(self, name)) is not None
        }


class OperationStatus(BaseModel):
    total_containers: int | None
    containers_analyzed: int
    records_processed: int


class OperationRead(BaseModel):
    id: int
    type: str
    datastore_id: int
    container_names: list[str] | None
    result: Literal["queued", "running", "success", "failure", "aborted"]
    message: str | None
    start_time: datetime | None
    end_time: datetime | None
    created_at: datetime
    created_by: str
    attempt: int = Field(description="Deliveries so far; above 1 when a dataplane was lost.")
    status: OperationStatus
    options: dict[str, Any]


class OperationPage(BaseModel):
    items: list[OperationRead]
    total: int
    page: int
    size: int
