"""Per-record rules on values: nulls, numeric bounds, equality, lists, expressions, types.

Nulls pass every rule here but notNull and anyNotNull (the user guide: a null is judged by
those two); NaN is no number, so it fails every numeric bound.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DataType, DateType, NumericType, StringType

from dqplatform.dataplane.operations.rules.base import (
    CheckNotEvaluable,
    RecordRule,
    RuleInput,
    family,
    never_null,
    number,
    shown,
)
from dqplatform.dataplane.operations.values import column
from dqplatform.messaging.rule_properties import (
    BetweenProperties,
    BoundProperties,
    EqualToProperties,
    ExpressionProperties,
    FieldTypeProperties,
    ListProperties,
    OtherFieldProperties,
    ValueProperties,
)
from dqplatform.messaging.rules import RuleType


def not_null(rule: RuleInput) -> RecordRule:
    # "Explicitly set to nothing": only null. An empty string is a value (minLength judges it).
    nulls = [value.isNull() for _, value, _ in rule.many()]
    failing = nulls[0]
    for more in nulls[1:]:
        failing = failing | more
    return RecordRule(failing, "have a null value" if len(nulls) == 1 else "have a null field")


def any_not_null(rule: RuleInput) -> RecordRule:
    nulls = [value.isNull() for _, value, _ in rule.many()]
    failing = nulls[0]
    for more in nulls[1:]:
        failing = failing & more
    return RecordRule(failing, "have every one of the fields null")


def _bounded(rule: RuleInput, test: Any, text: str) -> RecordRule:
    """`test(number)` is the failing condition on a number; not-a-number values fail."""
    name, value, data_type = rule.single()
    as_number, bad = number(name, value, data_type)
    return RecordRule(never_null(test(as_number)) | bad, text)


def between(rule: RuleInput) -> RecordRule:
    p: BetweenProperties = rule.props(BetweenProperties)

    def outside(v: Column) -> Column:
        low = v < p.min if p.inclusive_min else v <= p.min
        high = v > p.max if p.inclusive_max else v >= p.max
        return low | high

    left = "[" if p.inclusive_min else "("
    right = "]" if p.inclusive_max else ")"
    return _bounded(
        rule, outside, f"have a value outside {left}{shown(p.min)}, {shown(p.max)}{right}"
    )


def greater_than(rule: RuleInput) -> RecordRule:
    p: ValueProperties = rule.props(ValueProperties)
    sign = ">=" if p.inclusive else ">"
    return _bounded(
        rule,
        lambda v: v < p.value if p.inclusive else v <= p.value,
        f"have a value not {sign} {shown(p.value)}",
    )


def less_than(rule: RuleInput) -> RecordRule:
    p: ValueProperties = rule.props(ValueProperties)
    sign = "<=" if p.inclusive else "<"
    return _bounded(
        rule,
        lambda v: v > p.value if p.inclusive else v >= p.value,
        f"have a value not {sign} {shown(p.value)}",
    )


def min_value(rule: RuleInput) -> RecordRule:
    p: BoundProperties = rule.props(BoundProperties)
    return _bounded(rule, lambda v: v < p.value, f"have a value below {shown(p.value)}")


def max_value(rule: RuleInput) -> RecordRule:
    p: BoundProperties = rule.props(BoundProperties)
    return _bounded(rule, lambda v: v > p.value, f"have a value above {shown(p.value)}")


def not_negative(rule: RuleInput) -> RecordRule:
    return _bounded(rule, lambda v: v < 0, "have a negative value")


def positive(rule: RuleInput) -> RecordRule:
    return _bounded(rule, lambda v: v <= 0, "have a value that is not positive")


def _parses(value: str, data_type: DataType) -> bool:
    try:
        if isinstance(data_type, DateType):
            date.fromisoformat(value)
        else:
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def typed_literal(value: Any, name: str, data_type: DataType) -> Column:
    """`value` as a literal of the field's type; refused when it is none (an impossible
    comparison failing at run time would stop every other check of the pass)."""
    if isinstance(value, bool) and not isinstance(data_type, BooleanType | StringType):
        raise CheckNotEvaluable(f"{value} cannot be compared with field {name!r}")
    if isinstance(data_type, NumericType):
        if isinstance(value, int | float):
            return F.lit(float(value))
        if isinstance(value, str):
            try:
                return F.lit(float(value))
            except ValueError:
                pass
        raise CheckNotEvaluable(f"{shown(value)} is not a number, as field {name!r} holds")
    if isinstance(data_type, StringType):
        if isinstance(value, bool):
            return F.lit("true" if value else "false")
        if isinstance(value, str | int | float):
            return F.lit(str(value))
    elif isinstance(data_type, BooleanType):
        if isinstance(value, bool):
            return F.lit(value)
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return F.lit(value.strip().lower() == "true")
    elif (
        family(data_type) in ("Date", "Timestamp")
        and isinstance(value, str)
        and _parses(value, data_type)
    ):
        return F.lit(value).try_cast(data_type)
    raise CheckNotEvaluable(
        f"{shown(value)} is not a {data_type.simpleString()} value, as field {name!r} holds"
    )


def _compared(value: Column, data_type: DataType) -> Column:
    # Numbers are compared as doubles: a decimal(10,2) 1.50 equals the property's 1.5.
    return value.cast("double") if isinstance(data_type, NumericType) else value


def equal_to(rule: RuleInput) -> RecordRule:
    p: EqualToProperties = rule.props(EqualToProperties)
    if p.value is None:
        raise CheckNotEvaluable("value cannot be null: use a notNull check")
    differs = [
        never_null(_compared(value, data_type) != typed_literal(p.value, name, data_type))
        for name, value, data_type in rule.many()
    ]
    failing = differs[0]
    for more in differs[1:]:
        failing = failing | more
    return RecordRule(failing, f"have a value other than {shown(p.value)}")


def expected_values(rule: RuleInput) -> RecordRule:
    # Typed: the listed values (the client sends text) are read as the field's type, so a
    # number field matches 1 and "1.0" alike; text is matched exactly, case included.
    p: ListProperties = rule.props(ListProperties)
    name, value, data_type = rule.single()
    if any(item is None for item in p.list):
        raise CheckNotEvaluable("the list cannot hold null: use a notNull check")
    literals = [typed_literal(item, name, data_type) for item in p.list]
    failing = never_null(~_compared(value, data_type).isin(*literals))
    return RecordRule(failing, f"have a value not among the {len(p.list)} expected values")


def satisfies_expression(rule: RuleInput) -> RecordRule:
    # As an SQL CHECK constraint: a record fails when the expression is false; null (unknown)
    # passes.
    p: ExpressionProperties = rule.props(ExpressionProperties)
    expression = boolean_expression(rule.df, p.expression, "the expression")
    return RecordRule(never_null(~expression), f"do not satisfy {p.expression}")


def boolean_expression(df: DataFrame, text: str, what: str) -> Column:
    """`text` as a Spark SQL Column, refused now when it does not parse, names what is not
    there or is not a condition."""
    try:
        expression = F.expr(text)
        data_type = df.select(expression.alias("e")).schema["e"].dataType
    except PySparkException as exc:
        message = (exc.getMessage() or str(exc)).split("\n", 1)[0]
        raise CheckNotEvaluable(f"{what} {text!r} is not valid Spark SQL here: {message}") from None
    if not isinstance(data_type, BooleanType):
        raise CheckNotEvaluable(
            f"{what} {text!r} is {data_type.simpleString()}, not a true/false condition"
        )
    return expression


_CASTS = {
    "Date": "date",
    "Timestamp": "timestamp",
    "Integral": "bigint",
    "Fractional": "double",
    "Boolean": "boolean",
}


def is_type(rule: RuleInput) -> RecordRule:
    """A typed field passes when its type is the one asked (Integral counts as Fractional);
    text passes where its value reads as the type; a field of another type fails on every
    value."""
    p: FieldTypeProperties = rule.props(FieldTypeProperties)
    _, value, data_type = rule.single()
    actual = family(data_type)
    wanted = p.field_type
    text = f"have a value that is not {wanted}"
    if actual == wanted or (wanted == "Fractional" and actual == "Integral") or wanted == "String":
        # Every value has a text form: String accepts anything.
        return RecordRule(F.lit(False), text)
    if actual != "String":
        return RecordRule(value.isNotNull(), text)
    trimmed = F.trim(value)
    readable = trimmed.try_cast(_CASTS[wanted]).isNotNull()
    if wanted == "Integral":
        readable = readable & trimmed.rlike(r"^[+-]?\d+$")
    return RecordRule(value.isNotNull() & ~readable, text)


def _other(rule: RuleInput) -> tuple[Column, Column, DataType, DataType, str]:
    p: OtherFieldProperties = rule.props(OtherFieldProperties)
    _, value, data_type = rule.single()
    other_type = rule.field_type(p.field_name)
    return value, column(p.field_name), data_type, other_type, p.field_name


def _comparable(
    value: Column, other: Column, data_type: DataType, other_type: DataType, names: str
) -> tuple[Column, Column]:
    mine, theirs = family(data_type), family(other_type)
    numeric = ("Integral", "Fractional")
    if mine in numeric and theirs in numeric:
        return value.cast("double"), other.cast("double")
    temporal = ("Date", "Timestamp")
    if mine in temporal and theirs in temporal:
        if mine == theirs == "Date":
            return value, other
        return value.cast("timestamp"), other.cast("timestamp")
    if mine == theirs and mine is not None:
        return value, other
    raise CheckNotEvaluable(
        f"fields {names} are {data_type.simpleString()} and {other_type.simpleString()}: "
        "they cannot be compared"
    )


def compare_field(rule: RuleInput) -> RecordRule:
    """greaterThanField, lessThanField, equalToField; a null on either side passes."""
    p: OtherFieldProperties = rule.props(OtherFieldProperties)
    value, other, data_type, other_type, other_name = _other(rule)
    names = f"{rule.check.fields[0]!r} and {other_name!r}"
    if rule.check.rule == RuleType.EQUAL_TO_FIELD and family(data_type) != family(other_type):
        # Of different types, they are equal when their text is.
        failing = value.cast("string") != other.cast("string")
        return RecordRule(never_null(failing), f"have a value other than {other_name}'s")
    a, b = _comparable(value, other, data_type, other_type, names)
    if rule.check.rule == RuleType.EQUAL_TO_FIELD:
        return RecordRule(never_null(a != b), f"have a value other than {other_name}'s")
    if rule.check.rule == RuleType.GREATER_THAN_FIELD:
        failing = a < b if p.inclusive else a <= b
        sign = ">=" if p.inclusive else ">"
    else:
        failing = a > b if p.inclusive else a >= b
        sign = "<=" if p.inclusive else "<"
    return RecordRule(never_null(failing), f"have a value not {sign} {other_name}")
