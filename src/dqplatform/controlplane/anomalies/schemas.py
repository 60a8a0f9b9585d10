"""Request and response bodies of /api/anomalies, in the names qualytics-cli and the
platform's user guide use (`anomalous_records_count`, `failed_checks`, `global_tags`, ...)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from dqplatform.controlplane.anomalies.models import (
    ARCHIVED_STATUSES,
    OPEN_STATUSES,
    AnomalyStatus,
)
from dqplatform.controlplane.paging import MAX_ID, Page
from dqplatform.messaging.rules import AnomalyType

# Bounds on what one request may carry: a body is held in memory whole.
MAX_BULK_ITEMS = 1000
MAX_TAGS = 100
MAX_ASSIGNEES = 100
MAX_DESCRIPTION = 10_000

AnomalyId = Annotated[int, Field(ge=1, le=MAX_ID)]
# No NUL: PostgreSQL text refuses it (a 500, were it let through).
_NO_NUL = r"^[^\x00]*$"
TagName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=_NO_NUL)
]
UserId = Annotated[int, Field(ge=1, le=MAX_ID)]


class OpenStatus(StrEnum):
    """What PUT and PATCH may set; the archived statuses come with DELETE ?archive=true."""

    ACTIVE = AnomalyStatus.ACTIVE.value
    ACKNOWLEDGED = AnomalyStatus.ACKNOWLEDGED.value


class ArchiveStatus(StrEnum):
    RESOLVED = AnomalyStatus.RESOLVED.value
    INVALID = AnomalyStatus.INVALID.value
    DUPLICATE = AnomalyStatus.DUPLICATE.value
    DISCARDED = AnomalyStatus.DISCARDED.value


assert {s.value for s in OpenStatus} == OPEN_STATUSES
assert {s.value for s in ArchiveStatus} == ARCHIVED_STATUSES


def _open_status(value: Any) -> Any:
    # Named, so that `anomalies update --status Resolved` from another client says what to do.
    if isinstance(value, str) and value in ARCHIVED_STATUSES:
        raise ValueError(
            f"{value} is an archive status: archive with DELETE /api/anomalies/{{id}}"
            f"?archive=true&status={value}"
        )
    return value


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class AnomalyChange(BaseModel):
    """PUT /api/anomalies/{id}: the fields given change, the others stay. An open status on
    an archived anomaly restores it."""

    model_config = ConfigDict(extra="forbid")

    status: OpenStatus | None = Field(default=None, description="Active or Acknowledged.")
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION, pattern=_NO_NUL)
    tags: list[TagName] | None = Field(
        default=None, max_length=MAX_TAGS, description="Tag names; replaces the anomaly's tags."
    )
    assignee_ids: list[UserId] | None = Field(
        default=None, max_length=MAX_ASSIGNEES, description="User ids; [] clears."
    )

    @field_validator("status", mode="before")
    @classmethod
    def _no_archive_status(cls, value: Any) -> Any:
        return _open_status(value)

    @field_validator("tags", "assignee_ids")
    @classmethod
    def _dedupe(cls, values: list[Any] | None) -> list[Any] | None:
        return None if values is None else _unique(values)


class AnomalyBulkChange(AnomalyChange):
    """One item of PATCH /api/anomalies."""

    id: AnomalyId


class AnomalyBulkDelete(BaseModel):
    """One item of DELETE /api/anomalies: archive (the default) with a status, or delete."""

    model_config = ConfigDict(extra="forbid")

    id: AnomalyId
    archive: bool = True
    status: ArchiveStatus = ArchiveStatus.RESOLVED


class Ref(BaseModel):
    id: int
    name: str


class ContainerRef(BaseModel):
    id: int | None = Field(description="Null when the latest catalog no longer has it.")
    name: str
    container_type: str | None


class FieldRef(BaseModel):
    name: str


class TagRef(BaseModel):
    name: str


class UserRef(BaseModel):
    id: int
    username: str


class FailedCheckRef(BaseModel):
    """The check as the anomaly found it: rule and fields as judged; the rest from the check
    as it is now (null once the check was deleted)."""

    id: int | None
    rule_type: str
    fields: list[FieldRef]
    description: str | None = None
    filter: str | None = None
    coverage: float | None = None
    properties: dict[str, Any] | None = None


class FailedCheck(BaseModel):
    quality_check: FailedCheckRef
    message: str


class AnomalyRead(BaseModel):
    id: int
    created: datetime = Field(description="When a scan first found it.")
    updated: datetime = Field(description="The last change, by a scan or a person.")
    type: AnomalyType
    status: AnomalyStatus
    archived: bool
    archived_at: datetime | None
    datastore: Ref
    container: ContainerRef
    fields: list[FieldRef] = Field(description="The fields the failed check judged.")
    rule_type: str
    anomalous_records_count: int = Field(description="Records that failed.")
    checked_records_count: int = Field(description="Records the check judged (after its filter).")
    source_enriched: bool = Field(description="Source records are stored (GET .../source-record).")
    failed_checks: list[FailedCheck]
    description: str | None
    global_tags: list[TagRef]
    assignees: list[UserRef]
    fingerprint: str
    operation_id: int = Field(description="The scan that first found it.")
    last_operation_id: int = Field(description="The latest scan that found it.")


AnomalyPage = Page[AnomalyRead]


class SourceRecords(BaseModel):
    """GET /api/anomalies/{id}/source-record."""

    source_record: str = Field(description="The records as a JSON array (the client's form).")
    records: list[dict[str, Any]] = Field(description="The same records, as JSON.")
    fields: list[str] = Field(description="The fields that failed the check in each record.")
    anomalous_records_count: int = Field(description="All failing records, stored or not.")
    created: datetime = Field(description="When a scan first found the anomaly.")
    last_operation_id: int = Field(description="The scan that read these records.")


ArchivedFilter = Literal["only", "include"]
SortOrder = Literal["asc", "desc"]
