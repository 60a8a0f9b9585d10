"""Each rule's properties: their names (the client's), types and bounds.

The controlplane validates a check's properties here when the check is written (a bad
value is a 422 naming the property), and stores the normalised dict (`dump_properties`);
the dataplane parses the same dict back (`parse_properties`) into the typed model. Rules
that take no properties accept only `{}`.

Names follow the public client (qualytics-cli 1.2.2, services/dbt.py and the user guide)
where it shows them; where it does not, the names chosen are listed in docs/checks.md.
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dqplatform.messaging.rules import RuleType


class RuleProperties(BaseModel):
    # Forbid: a misspelt property would otherwise be ignored and the check judge something
    # other than what its author meant.
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoProperties(RuleProperties):
    pass


class ValueProperties(RuleProperties):
    """greaterThan, lessThan: `inclusive` makes the bound part of the accepted range."""

    value: float
    inclusive: bool = False


class BoundProperties(RuleProperties):
    """maxValue, minValue, sum: one number, the bound being accepted."""

    value: float


class LengthProperties(RuleProperties):
    value: int = Field(ge=0)


class CountProperties(RuleProperties):
    """fieldCount, maxPartitionSize, minPartitionSize."""

    value: int = Field(ge=0)


class EqualToProperties(RuleProperties):
    value: Any


class BetweenProperties(RuleProperties):
    min: float
    max: float
    inclusive_min: bool = True
    inclusive_max: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> BetweenProperties:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class BetweenTimesProperties(RuleProperties):
    min_time: dt.datetime
    max_time: dt.datetime

    @model_validator(mode="after")
    def _ordered(self) -> BetweenTimesProperties:
        if self.min_time > self.max_time:
            raise ValueError("min_time is later than max_time")
        return self


class DateTimeProperties(RuleProperties):
    """afterDateTime, beforeDateTime: the bound, exclusive. Without a time zone it is UTC."""

    datetime: dt.datetime


class PatternProperties(RuleProperties):
    """A Java regular expression (Spark's rlike), searched for, so anchor it to match whole
    values."""

    pattern: str = Field(min_length=1)


class ListProperties(RuleProperties):
    """expectedValues, requiredValues."""

    list: builtins.list[Any] = Field(min_length=1)


class FieldTypeProperties(RuleProperties):
    field_type: Literal["Date", "Timestamp", "Integral", "Fractional", "String", "Boolean"]


class ExpressionProperties(RuleProperties):
    """satisfiesExpression: a Spark SQL boolean expression each record must satisfy."""

    expression: str = Field(min_length=1)


class OtherFieldProperties(RuleProperties):
    """equalToField, greaterThanField, lessThanField: the field compared with."""

    field_name: str = Field(min_length=1)
    inclusive: bool = False


class ReferenceProperties(RuleProperties):
    """The second container of a cross-container rule. Without ref_datastore_id it is in
    the check's own datastore."""

    ref_container_id: int
    ref_datastore_id: int | None = None
    ref_filter: str | None = None


class ExistsInProperties(ReferenceProperties):
    field_name: str = Field(min_length=1)


class DataDiffProperties(ReferenceProperties):
    # The fields that identify a record in both containers; empty: compare whole records.
    id_field_names: builtins.list[str] = Field(default_factory=list)


class AggregationComparisonProperties(RuleProperties):
    """`expression` over this container compared with `ref_expression` over the reference
    (or with this container's own ref_expression without ref_container_id)."""

    expression: str = Field(min_length=1)
    comparison: Literal["lt", "lte", "eq", "gte", "gt"]
    ref_expression: str = Field(min_length=1)
    ref_container_id: int | None = None
    ref_datastore_id: int | None = None
    ref_filter: str | None = None


class DistinctCountProperties(RuleProperties):
    value: int = Field(ge=0)
    comparison: Literal["less than", "equal to", "greater than"] = "equal to"


class FreshnessProperties(RuleProperties):
    """The largest age, in milliseconds, of the newest record; the container's freshness
    field is the one given in the check's `fields`, or its incremental field."""

    value: int = Field(gt=0)


class SchemaField(RuleProperties):
    name: str = Field(min_length=1)
    type: Literal["Date", "Timestamp", "Integral", "Fractional", "String", "Boolean"] | None = None


class ExpectedSchemaProperties(RuleProperties):
    list: builtins.list[SchemaField] = Field(min_length=1)
    allow_other_fields: bool = True

    @model_validator(mode="before")
    @classmethod
    def _names_as_fields(cls, data: Any) -> Any:
        # The client sends plain names; a name with its type is ours too.
        if isinstance(data, dict) and isinstance(data.get("list"), list):
            data = dict(data)
            data["list"] = [
                {"name": item} if isinstance(item, str) else item for item in data["list"]
            ]
        return data


class RangeComparisonProperties(RuleProperties):
    """metric and volumetric: the change (or value) must lie in [min, max]."""

    comparison: Literal["Absolute Change", "Percentage Change", "Absolute Value"]
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> RangeComparisonProperties:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class VolumetricProperties(RangeComparisonProperties):
    # How many earlier scans' counts the change is measured against (their mean).
    window_size: int = Field(default=1, ge=1)


_INTERVAL_NAMES = {
    "Hourly": "hour",
    "Daily": "day",
    "Weekly": "week",
    "Monthly": "month",
    "Yearly": "year",
}


class TimeDistributionProperties(RuleProperties):
    """Every interval bucket of the field must hold between min and max records. The user
    guide's names (interval_name "Monthly", min_size, max_size) are read as these."""

    interval: Literal["hour", "day", "week", "month", "year"]
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _user_guide_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for theirs, ours in (
            ("interval_name", "interval"),
            ("min_size", "min"),
            ("max_size", "max"),
        ):
            if theirs in data and ours not in data:
                value = data.pop(theirs)
                data[ours] = _INTERVAL_NAMES.get(value, value) if ours == "interval" else value
        return data


AddressLabel = Literal["road", "city", "state", "postcode", "country"]


def _road_and_city() -> list[AddressLabel]:
    return ["road", "city"]


class AddressProperties(RuleProperties):
    required_labels: builtins.list[AddressLabel] = Field(
        default_factory=_road_and_city, min_length=1
    )


class EntityResolutionProperties(RuleProperties):
    distinction_field_name: str = Field(min_length=1)
    pair_substrings: bool = True
    pair_homophones: bool = True
    spelling_similarity_threshold: float = Field(default=0.6, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _user_guide_name(cls, data: Any) -> Any:
        # The user guide's payloads name the distinction field distinct_field_name.
        if isinstance(data, dict) and "distinct_field_name" in data:
            data = dict(data)
            data.setdefault("distinction_field_name", data.pop("distinct_field_name"))
        return data


PROPERTIES: dict[RuleType, type[RuleProperties]] = {
    RuleType.AFTER_DATE_TIME: DateTimeProperties,
    RuleType.AGGREGATION_COMPARISON: AggregationComparisonProperties,
    RuleType.ANY_NOT_NULL: NoProperties,
    RuleType.BEFORE_DATE_TIME: DateTimeProperties,
    RuleType.BETWEEN: BetweenProperties,
    RuleType.BETWEEN_TIMES: BetweenTimesProperties,
    RuleType.CONTAINS_CREDIT_CARD: NoProperties,
    RuleType.CONTAINS_EMAIL: NoProperties,
    RuleType.CONTAINS_SOCIAL_SECURITY_NUMBER: NoProperties,
    RuleType.CONTAINS_URL: NoProperties,
    RuleType.DATA_DIFF: DataDiffProperties,
    RuleType.DISTINCT_COUNT: DistinctCountProperties,
    RuleType.ENTITY_RESOLUTION: EntityResolutionProperties,
    RuleType.EQUAL_TO: EqualToProperties,
    RuleType.EQUAL_TO_FIELD: OtherFieldProperties,
    RuleType.EXISTS_IN: ExistsInProperties,
    RuleType.EXPECTED_SCHEMA: ExpectedSchemaProperties,
    RuleType.EXPECTED_VALUES: ListProperties,
    RuleType.FIELD_COUNT: CountProperties,
    RuleType.FRESHNESS: FreshnessProperties,
    RuleType.GREATER_THAN: ValueProperties,
    RuleType.GREATER_THAN_FIELD: OtherFieldProperties,
    RuleType.IS_ADDRESS: AddressProperties,
    RuleType.IS_CREDIT_CARD: NoProperties,
    RuleType.IS_REPLICA_OF: ReferenceProperties,
    RuleType.IS_TYPE: FieldTypeProperties,
    RuleType.LESS_THAN: ValueProperties,
    RuleType.LESS_THAN_FIELD: OtherFieldProperties,
    RuleType.MATCHES_PATTERN: PatternProperties,
    RuleType.MAX_LENGTH: LengthProperties,
    RuleType.MAX_PARTITION_SIZE: CountProperties,
    RuleType.MAX_VALUE: BoundProperties,
    RuleType.METRIC: RangeComparisonProperties,
    RuleType.MIN_LENGTH: LengthProperties,
    RuleType.MIN_PARTITION_SIZE: CountProperties,
    RuleType.MIN_VALUE: BoundProperties,
    RuleType.NOT_EXISTS_IN: ExistsInProperties,
    RuleType.NOT_FUTURE: NoProperties,
    RuleType.NOT_NEGATIVE: NoProperties,
    RuleType.NOT_NULL: NoProperties,
    RuleType.POSITIVE: NoProperties,
    RuleType.REQUIRED_VALUES: ListProperties,
    RuleType.SATISFIES_EXPRESSION: ExpressionProperties,
    RuleType.SUM: BoundProperties,
    RuleType.TIME_DISTRIBUTION_SIZE: TimeDistributionProperties,
    RuleType.UNIQUE: NoProperties,
    RuleType.VOLUMETRIC: VolumetricProperties,
}


class PropertiesError(ValueError):
    """A check's properties do not fit its rule; `errors` name each wrong property."""

    def __init__(self, rule: RuleType, errors: list[dict[str, Any]]) -> None:
        self.rule = rule
        self.errors = errors
        detail = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'properties'}: {error['msg']}"
            for error in errors
        )
        super().__init__(f"properties for {rule.value}: {detail}")


def parse_properties(rule: RuleType, properties: dict[str, Any] | None) -> RuleProperties:
    """The typed properties of `rule`; PropertiesError when they do not fit."""
    model = PROPERTIES[rule]
    try:
        return model.model_validate(properties or {})
    except ValidationError as error:
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        raise PropertiesError(rule, errors) from None


def dump_properties(rule: RuleType, properties: dict[str, Any] | None) -> dict[str, Any]:
    """The properties as stored and sent: validated, defaults filled in, JSON-ready."""
    return parse_properties(rule, properties).model_dump(mode="json")
