"""What each check rule means on a DataFrame: its parameters, its failing rows, its message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
    MapType,
    NumericType,
    StringType,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from dqplatform.dataplane.operations.values import column
from dqplatform.messaging.operations import CheckSpec

_TEMPORAL = (DateType, TimestampType, TimestampNTZType)
_ORDERED = (NumericType, StringType, DateType, TimestampType, TimestampNTZType)


class CheckNotEvaluable(Exception):
    """The check cannot be judged on this data; the message says why, for the user."""


@dataclass(frozen=True)
class RowRule:
    """A check judged row by row: `failing` is true exactly on the rows that fail it."""

    check: CheckSpec
    failing: Column
    describe: str  # "null values", "values outside the range 1 to 5", ...


@dataclass(frozen=True)
class UniqueRule:
    """A check judged on groups of equal values: the rows of a repeated value fail."""

    check: CheckSpec
    key: Column


Rule = RowRule | UniqueRule


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _parses_as(value: str, data_type: DataType) -> bool:
    try:
        if isinstance(data_type, DateType):
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _typed_literal(value: Any, field: str, data_type: DataType) -> Column:
    """`value` as a literal of the field's type, refused here when it is not one: an
    impossible comparison failing at run time would stop every other check too."""
    if isinstance(data_type, NumericType):
        if _is_number(value):
            return F.lit(value)
        if isinstance(value, str):
            try:
                return F.lit(float(value))
            except ValueError:
                pass
        raise CheckNotEvaluable(f"{_shown(value)} is not a number, as field {field!r} holds")
    if isinstance(data_type, StringType):
        if isinstance(value, bool):
            return F.lit("true" if value else "false")
        if isinstance(value, str) or _is_number(value):
            return F.lit(str(value))
        raise CheckNotEvaluable(f"{_shown(value)} cannot be compared with text field {field!r}")
    if isinstance(data_type, BooleanType):
        if isinstance(value, bool):
            return F.lit(value)
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return F.lit(value.lower() == "true")
    elif (
        isinstance(data_type, _TEMPORAL) and isinstance(value, str) and _parses_as(value, data_type)
    ):
        # ISO 8601 text, read by Spark in the session time zone as the field's values are.
        return F.lit(value).try_cast(data_type)
    raise CheckNotEvaluable(
        f"{_shown(value)} is not a {data_type.simpleString()} value, as field {field!r} holds"
    )


def _between(check: CheckSpec, value: Column, data_type: DataType) -> RowRule:
    low, high = check.params.get("min"), check.params.get("max")
    if low is None and high is None:
        raise CheckNotEvaluable("a between check needs params min, max or both")
    if not isinstance(data_type, _ORDERED):
        raise CheckNotEvaluable(
            f"field {check.field!r} is {data_type.simpleString()}: between needs numbers, "
            "dates, timestamps or text"
        )
    if _is_number(low) and _is_number(high) and low > high:  # type: ignore[operator]
        raise CheckNotEvaluable(f"min {low} is greater than max {high}")
    not_a_number = F.lit(False)
    if isinstance(data_type, StringType) and (_is_number(low) or _is_number(high)):
        # Text against numeric bounds is compared as numbers; text that is no number fails.
        number = value.try_cast("double")
        not_a_number = value.isNotNull() & number.isNull()
        value, data_type = number, DoubleType()
    bounds = []
    if low is not None:
        bounds.append(value < _typed_literal(low, check.field, data_type))
    if high is not None:
        bounds.append(value > _typed_literal(high, check.field, data_type))
    outside = bounds[0] if len(bounds) == 1 else bounds[0] | bounds[1]
    if low is not None and high is not None:
        text = f"values outside the range {_shown(low)} to {_shown(high)}"
    elif low is not None:
        text = f"values below {_shown(low)}"
    else:
        text = f"values above {_shown(high)}"
    # Nulls pass (not_null judges them): a null comparison counts as not failing.
    return RowRule(check, F.coalesce(outside, F.lit(False)) | not_a_number, text)


def _matches(spark: SparkSession, check: CheckSpec, value: Column) -> RowRule:
    pattern = check.params.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise CheckNotEvaluable("a matches_pattern check needs a non-empty params.pattern")
    jvm = spark.sparkContext._jvm
    try:
        jvm.java.util.regex.Pattern.compile(pattern)  # type: ignore[union-attr]
    except Exception:
        raise CheckNotEvaluable(f"{pattern!r} is not a valid Java regular expression") from None
    text = value.cast("string")
    # rlike searches (Matcher.find): anchor with ^ and $ to match whole values. Nulls pass.
    failing = F.coalesce(~text.rlike(pattern), F.lit(False))
    return RowRule(check, failing, f"values not matching the pattern {pattern!r}")


def _expected(check: CheckSpec, value: Column, data_type: DataType) -> RowRule:
    values = check.params.get("values")
    if not isinstance(values, list) or not values:
        raise CheckNotEvaluable("an expected_values check needs a non-empty params.values list")
    if any(item is None for item in values):
        raise CheckNotEvaluable("params.values cannot hold null: use a not_null check")
    literals = [_typed_literal(item, check.field, data_type) for item in values]
    # Nulls pass (not_null judges them).
    failing = F.coalesce(~value.isin(*literals), F.lit(False))
    return RowRule(check, failing, f"values not among the {len(values)} expected values")


def rule_for(spark: SparkSession, check: CheckSpec, df: DataFrame) -> Rule:
    """The rule of `check` on `df`; CheckNotEvaluable when its field or params do not fit."""
    fields = {field.name: field.dataType for field in df.schema.fields}
    if check.field not in fields:
        raise CheckNotEvaluable(f"field {check.field!r} does not exist in {check.container!r}")
    data_type = fields[check.field]
    value = column(check.field)
    if check.rule == "not_null":
        return RowRule(check, value.isNull(), "null values")
    if check.rule == "unique":
        nested = isinstance(data_type, ArrayType | MapType | StructType)
        return UniqueRule(check, F.to_json(value) if nested else value)
    if check.rule == "between":
        return _between(check, value, data_type)
    if check.rule == "matches_pattern":
        return _matches(spark, check, value)
    return _expected(check, value, data_type)
