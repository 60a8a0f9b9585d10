"""Request and response bodies of /api/quality-checks and /api/quality-check-templates, in
the names the public client (qualytics-cli) sends and reads.

Bodies accept fields this platform does not act on: they are kept (`extra`) and echoed
back, never refused, so a client newer than this platform loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from dqplatform.controlplane.checks.models import CheckArchiveStatus
from dqplatform.controlplane.paging import MAX_ID, Page

_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"
FieldName = Annotated[
    str, StringConstraints(min_length=1, max_length=1024, pattern=_NO_CONTROL_CHARS)
]
TagName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=_NO_CONTROL_CHARS)]
# Free text may hold newlines, but no NUL: PostgreSQL's text refuses it.
_NO_NUL = r"^[^\x00]*$"
RuleName = Annotated[str, StringConstraints(max_length=64, pattern=_NO_NUL)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# What a check's `status` reads: "Archived" for an archived check (whose stored status is
# kept for when it is restored); a write of "Archived" keeps or makes it archived.
WrittenStatus = Literal["Active", "Draft", "Archived"]

# The body fields this platform acts on; anything else a client sends goes to `extra`.
KNOWN_FIELDS = frozenset(
    {
        "container_id",
        "rule",
        "rule_type",
        "fields",
        "coverage",
        "filter",
        "properties",
        "description",
        "tags",
        "additional_metadata",
        "status",
        "template_id",
        "template_locked",
        "anomaly_message_field",
        "owner_id",
        "default_anomaly_assignee_id",
    }
)


class _CheckWrite(BaseModel):
    model_config = ConfigDict(extra="allow")

    fields: list[FieldName] | None = Field(
        default=None, max_length=500, description="The field names the rule judges."
    )
    coverage: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="The share (0-1) of judged records that must pass, for rules that take it.",
    )
    filter: Annotated[str, StringConstraints(pattern=_NO_NUL)] | None = Field(
        default=None,
        max_length=10_000,
        description="A Spark SQL condition selecting the records judged (no WHERE).",
    )
    properties: dict[str, Any] | None = Field(
        default=None, description="The rule's parameters: see GET /api/quality-checks/rules."
    )
    description: Annotated[str, StringConstraints(pattern=_NO_NUL)] | None = Field(
        default=None, max_length=5000
    )
    tags: list[TagName] | None = Field(default=None, max_length=100)
    additional_metadata: dict[str, Any] | None = Field(
        default=None, description="Kept as given (the client upserts by a key in it)."
    )
    status: WrittenStatus | None = None
    anomaly_message_field: FieldName | None = None
    owner_id: Id | None = None
    default_anomaly_assignee_id: Id | None = None

    @field_validator("fields", "tags", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # As the check reads back ([{"name": ...}]) or as the client writes it (names).
        if isinstance(value, list):
            return [
                item["name"] if isinstance(item, dict) and "name" in item else item
                for item in value
            ]
        return value

    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class CheckCreate(_CheckWrite):
    """A new check on a container. With `template_id`, the rule and (if left out, or if
    the template is locked) the properties are the template's."""

    container_id: Id
    rule: RuleName | None = Field(
        default=None,
        description="A rule type (camelCase, e.g. notNull); our old snake_case names work.",
    )
    rule_type: RuleName | None = Field(default=None, description="Same as rule.")
    template_id: Id | None = None


class TemplateCreate(_CheckWrite):
    """A check template: a rule with its properties, on no container."""

    rule: RuleName | None = None
    rule_type: RuleName | None = None
    template_locked: bool = Field(
        default=False, description="Checks made from it keep its rule and properties."
    )


class CheckUpdate(_CheckWrite):
    """A check's new definition: the fields given are changed, the others kept (the client
    sends the whole definition). `status` Active or Draft restores an archived check."""

    container_id: Id | None = None
    rule: RuleName | None = None
    rule_type: RuleName | None = None
    template_locked: bool | None = None


class ArchiveRequest(BaseModel):
    """One item of a bulk DELETE /api/quality-checks."""

    model_config = ConfigDict(extra="ignore")

    id: Id
    archive: bool = True
    status: CheckArchiveStatus = CheckArchiveStatus.DISCARDED
    delete_anomalies: bool = False


class NamedRef(BaseModel):
    id: int | None
    name: str


class FieldRef(BaseModel):
    name: str
    type: str | None = None


class TagRef(BaseModel):
    name: str


class CheckRead(BaseModel):
    """A check (or template) as the client reads it; fields a client sent that this
    platform does not act on come back at the top level."""

    model_config = ConfigDict(extra="allow")

    id: int
    rule_type: str
    datastore_id: int | None
    container: NamedRef | None
    fields: list[FieldRef]
    coverage: float | None
    filter: str | None
    properties: dict[str, Any]
    description: str | None
    global_tags: list[TagRef]
    status: str = Field(description="Active, Draft, or Archived for an archived check.")
    archived: datetime | None = Field(description="When it was archived; null if it is not.")
    archive_status: str | None = Field(description="Discarded, Invalid or Resolved.")
    additional_metadata: dict[str, Any]
    anomaly_message_field: str | None
    is_template: bool
    template_id: int | None
    template_locked: bool
    owner_id: int | None
    default_anomaly_assignee_id: int | None
    inferred: bool
    anomaly_count: int = Field(description="Its open (Active or Acknowledged) anomalies.")
    created: datetime
    updated: datetime


CheckPage = Page[CheckRead]

# Not kept as extra fields either: what a check's own body says (a client that writes back
# a check it read sends these).
RESPONSE_FIELDS = frozenset(CheckRead.model_fields)


class RuleRead(BaseModel):
    """A rule type with what it accepts."""

    rule_type: str
    fields: str = Field(description="multi, single, calculated or none.")
    filterable: bool
    coverage: bool
    anomaly_type: str
    cross_container: bool
    properties: dict[str, Any] = Field(description="The JSON schema of its properties.")
    aliases: list[str]
