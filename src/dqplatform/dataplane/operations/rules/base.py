"""What every rule family builds on: the forms a judged check takes, and typed values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    NumericType,
    ShortType,
    StringType,
    TimestampNTZType,
    TimestampType,
)

from dqplatform.dataplane.operations.values import column
from dqplatform.messaging.operations import CheckSpec
from dqplatform.messaging.rule_properties import RuleProperties, parse_properties

TypeFamily = Literal["Date", "Timestamp", "Integral", "Fractional", "String", "Boolean"]


class CheckNotEvaluable(Exception):
    """The check cannot be judged on this data; the message says why, for the user."""


@dataclass(frozen=True)
class Verdict:
    """A judged check: `failed` of `records` judged records failed (0 for most shape rules);
    `passed` already takes the coverage into account."""

    passed: bool
    records: int
    failed: int
    message: str
    samples: list[dict[str, Any]] = field(default_factory=list)
    value: float | None = None  # the figure measured (metric, volumetric), for history


@dataclass(frozen=True)
class RecordRule:
    """Judged record by record in the container's one pass: `failing` is true exactly on
    the records that fail (never null); `describe` completes "12 of 300 records ..."."""

    failing: Column
    describe: str


@dataclass(frozen=True)
class AggregateRule:
    """Judged from aggregates computed in the container's one pass: `columns` are the
    aggregate expressions (each aliased with a name unique to the check), `judge` reads
    them from the pass's one row."""

    columns: list[Column]
    judge: Callable[[Row], Verdict]


@dataclass(frozen=True)
class PassRule:
    """Judged by work of its own on the container's rows (a join, a group-by); `run`
    receives the rows after the check's filter."""

    run: Callable[[DataFrame], Verdict]


@dataclass(frozen=True)
class FixedRule:
    """Judged without reading records (the schema)."""

    verdict: Verdict


Rule = RecordRule | AggregateRule | PassRule | FixedRule


@dataclass(frozen=True)
class RuleInput:
    """What a rule builder gets: the check, its typed properties, the container's rows
    (unfiltered: their schema resolves fields and expressions) and a name prefix unique to
    the check for aggregate aliases."""

    check: CheckSpec
    properties: RuleProperties
    df: DataFrame
    judged: Column  # true on the records the check judges (its filter)
    alias: str
    reference: DataFrame | None = None  # the second container of a cross-container rule

    def props(self, kind: type[Any]) -> Any:
        assert isinstance(self.properties, kind), type(self.properties)
        return self.properties

    def field_type(self, name: str) -> DataType:
        types = {f.name: f.dataType for f in self.df.schema.fields}
        if name not in types:
            raise CheckNotEvaluable(f"field {name!r} does not exist in {self.check.container!r}")
        return types[name]

    def single(self) -> tuple[str, Column, DataType]:
        if not self.check.fields:
            raise CheckNotEvaluable(f"a {self.check.rule.value} check needs a field")
        name = self.check.fields[0]
        return name, column(name), self.field_type(name)

    def many(self) -> list[tuple[str, Column, DataType]]:
        if not self.check.fields:
            raise CheckNotEvaluable(f"a {self.check.rule.value} check needs at least one field")
        return [(name, column(name), self.field_type(name)) for name in self.check.fields]


def typed_properties(check: CheckSpec) -> RuleProperties:
    return parse_properties(check.rule, check.properties)


def family(data_type: DataType) -> TypeFamily | None:
    """The user guide's type of a Spark type (None: arrays, maps, binary ...)."""
    if isinstance(data_type, ByteType | ShortType | IntegerType | LongType):
        return "Integral"
    if isinstance(data_type, DecimalType):
        return "Integral" if data_type.scale == 0 else "Fractional"
    if isinstance(data_type, FloatType | DoubleType):
        return "Fractional"
    if isinstance(data_type, StringType):
        return "String"
    if isinstance(data_type, BooleanType):
        return "Boolean"
    if isinstance(data_type, DateType):
        return "Date"
    if isinstance(data_type, TimestampType | TimestampNTZType):
        return "Timestamp"
    return None


def is_number(data_type: DataType) -> bool:
    return isinstance(data_type, NumericType)


def number(name: str, value: Column, data_type: DataType) -> tuple[Column, Column]:
    """(the value as a number, "is not a number"): text is read as a number (text that is
    none, and NaN, counts as not a number: it fails numeric rules); nulls are neither."""
    if isinstance(data_type, StringType):
        as_double = value.try_cast("double")
        bad = value.isNotNull() & (as_double.isNull() | F.isnan(as_double))
        return as_double, bad
    if isinstance(data_type, FloatType | DoubleType):
        return value, value.isNotNull() & F.isnan(value)
    if is_number(data_type):
        return value, F.lit(False)
    raise CheckNotEvaluable(f"field {name!r} is {data_type.simpleString()}: the rule needs numbers")


def never_null(condition: Column) -> Column:
    """A failing condition where null (an unknown) counts as not failing."""
    return F.coalesce(condition, F.lit(False))


def utc(moment: dt.datetime) -> dt.datetime:
    """A property's time as an aware UTC time: a naive one is UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def timestamp_literal(moment: dt.datetime) -> Column:
    # An SQL literal with its offset: an instant, whatever the session or Python time zone.
    return F.expr(f"TIMESTAMP '{utc(moment).isoformat()}'")


_UTC_NAMES = {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "+00:00", "UTC+00:00", "Zulu"}


def instant(name: str, value: Column, data_type: DataType, session_tz: str) -> Column:
    """The value as an instant (TIMESTAMP). Naive timestamps (TIMESTAMP_NTZ) are UTC; dates
    are their midnight UTC; text is parsed (an offset in it is honoured, text without one is
    read in the session time zone) and text that is no time becomes null."""
    if isinstance(data_type, TimestampType):
        return value
    if isinstance(data_type, DateType):
        # Arithmetic, not a time zone conversion: ten times cheaper per record.
        return F.timestamp_seconds(F.unix_date(value).cast("long") * 86_400)
    if isinstance(data_type, TimestampNTZType):
        if session_tz in _UTC_NAMES:
            return value.cast("timestamp")
        # The UTC wall time shown in the session zone, then read in that zone: its instant.
        local = F.convert_timezone(F.lit("UTC"), F.lit(session_tz), value)
        return local.cast("timestamp")
    if isinstance(data_type, StringType):
        return value.try_cast("timestamp")
    raise CheckNotEvaluable(
        f"field {name!r} is {data_type.simpleString()}: the rule needs dates or timestamps"
    )


def shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)
