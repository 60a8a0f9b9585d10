"""Request and response bodies of /api/quality-checks, with each rule's parameters."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.checks.patterns import MAX_PATTERN_LENGTH, check_pattern
from dqplatform.controlplane.paging import MAX_ID, Page
from dqplatform.messaging.operations import CheckRule

MAX_EXPECTED_VALUES = 1000
MAX_VALUE_LENGTH = 1000
_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"


def _finite_number(value: object) -> int | float:
    # One check, one message: a union of StrictInt and StrictFloat would report twice.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Number = Annotated[int | float, PlainValidator(_finite_number, json_schema_input_type=float)]


def _expected_value(value: object) -> str | int | float | bool:
    if isinstance(value, str):
        if len(value) > MAX_VALUE_LENGTH:
            raise ValueError(f"must be at most {MAX_VALUE_LENGTH} characters")
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _finite_number(value)
    raise ValueError("must be a string, a number or a boolean")


ExpectedValue = Annotated[
    str | int | float | bool,
    PlainValidator(_expected_value, json_schema_input_type=str | float | bool),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=_NO_CONTROL_CHARS)]
Description = Annotated[str, Field(max_length=2000)]
DatastoreRef = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BetweenParams(BaseModel):
    """Inclusive bounds."""

    model_config = ConfigDict(extra="forbid")

    min: Number
    max: Number

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class PatternParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: Annotated[
        str, Field(min_length=1, max_length=MAX_PATTERN_LENGTH), AfterValidator(check_pattern)
    ] = Field(description="A Java regular expression, as Spark evaluates it.")


class ExpectedValuesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: list[ExpectedValue] = Field(min_length=1, max_length=MAX_EXPECTED_VALUES)


class _CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datastore_id: DatastoreRef
    container: Name = Field(description="The table, view or file, by name.")
    field: Name
    description: Description | None = None


class NotNullCheck(_CheckBody):
    rule: Literal["not_null"]
    params: NoParams = Field(default_factory=NoParams)


class UniqueCheck(_CheckBody):
    rule: Literal["unique"]
    params: NoParams = Field(default_factory=NoParams)


class BetweenCheck(_CheckBody):
    rule: Literal["between"]
    params: BetweenParams


class PatternCheck(_CheckBody):
    rule: Literal["matches_pattern"]
    params: PatternParams


class ExpectedValuesCheck(_CheckBody):
    rule: Literal["expected_values"]
    params: ExpectedValuesParams


CheckBody = NotNullCheck | UniqueCheck | BetweenCheck | PatternCheck | ExpectedValuesCheck
CheckCreate = Annotated[CheckBody, Field(discriminator="rule")]
check_adapter: TypeAdapter[CheckBody] = TypeAdapter(CheckCreate)


class CheckUpdate(BaseModel):
    """A partial update: omitted fields keep their value. A new rule needs its own params.

    A check stays on its datastore.
    """

    model_config = ConfigDict(extra="forbid")

    container: Name | None = None
    field: Name | None = None
    rule: CheckRule | None = None
    params: dict[str, Any] | None = None
    description: Description | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        nulls = [
            f
            for f in ("container", "field", "rule", "params")
            if f in self.model_fields_set and getattr(self, f) is None
        ]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    def merged_with(self, row: QualityCheck) -> dict[str, Any]:
        values: dict[str, Any] = {
            "datastore_id": row.datastore_id,
            "container": row.container,
            "field": row.field,
            "rule": row.rule,
            "params": row.params,
            "description": row.description,
        }
        if self.rule is not None and self.rule != row.rule:
            values["params"] = {}  # the old rule's params mean nothing to the new one
        values.update({f: getattr(self, f) for f in self.model_fields_set})
        return values


class CheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    datastore_id: int
    container: str
    field: str
    rule: CheckRule
    params: dict[str, Any]
    description: str | None
    created_at: datetime
    updated_at: datetime


CheckPage = Page[CheckRead]
