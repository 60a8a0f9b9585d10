"""Cross-container rules: this container's records against a second container read through
its own datastore (existsIn, notExistsIn, isReplicaOf, dataDiff, aggregationComparison).

The check's filter narrows this container only; the reference is read whole, narrowed by
the properties' ref_filter when one is given.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DataType

from dqplatform.dataplane.operations.rules.base import (
    CheckNotEvaluable,
    PassRule,
    RuleInput,
    Verdict,
    family,
    shown,
)
from dqplatform.dataplane.operations.values import column, row_dict
from dqplatform.messaging.operations import SAMPLE_ROWS_PER_ANOMALY
from dqplatform.messaging.rule_properties import (
    AggregationComparisonProperties,
    DataDiffProperties,
    ExistsInProperties,
    ReferenceProperties,
)
from dqplatform.messaging.rules import RuleType

_KEY = "__dqp_ref_key"
_DIFF = "_diff"
_REFERENCE = "_reference"


def _samples(df: DataFrame) -> list[dict[str, Any]]:
    return [row_dict(row) for row in df.limit(SAMPLE_ROWS_PER_ANOMALY).collect()]


def _reference(rule: RuleInput, ref_filter: str | None) -> DataFrame:
    if rule.reference is None:
        raise CheckNotEvaluable("the check names no reference container")
    ref = rule.reference
    if ref_filter:
        try:
            ref = ref.where(F.expr(ref_filter))
            ref.schema  # noqa: B018 - resolved now, so that a bad filter is refused here
        except Exception as exc:
            raise CheckNotEvaluable(f"ref_filter {ref_filter!r} is not valid here: {exc}") from None
    return ref


def _ref_type(ref: DataFrame, name: str) -> DataType:
    types = {f.name: f.dataType for f in ref.schema.fields}
    if name not in types:
        raise CheckNotEvaluable(f"the reference container has no field {name!r}")
    return types[name]


def _alike(mine: DataType, theirs: DataType) -> bool:
    numeric = ("Integral", "Fractional")
    a, b = family(mine), family(theirs)
    return a == b or (a in numeric and b in numeric)


def exists_in(rule: RuleInput) -> PassRule:
    """existsIn: each judged record's value is among the reference field's values;
    notExistsIn: it is not. A null passes both (it names nothing)."""
    p: ExistsInProperties = rule.props(ExistsInProperties)
    _, value, data_type = rule.single()
    ref = _reference(rule, p.ref_filter)
    ref_type = _ref_type(ref, p.field_name)
    same = _alike(data_type, ref_type)
    mine = value if same else value.cast("string")
    theirs = column(p.field_name) if same else column(p.field_name).cast("string")
    keys = ref.select(theirs.alias(_KEY)).where(F.col(_KEY).isNotNull()).distinct()
    exists = rule.check.rule == RuleType.EXISTS_IN
    how = "left_anti" if exists else "left_semi"
    where = f"{p.field_name} of the reference"

    def run(df: DataFrame) -> Verdict:
        records = df.count()
        failing = df.where(value.isNotNull()).join(keys, mine == F.col(_KEY), how)
        failed = failing.count()
        text = "are not found in" if exists else "are found in"
        message = f"{failed} of {records} records {text} {where}"
        return Verdict(failed == 0, records, failed, message, _samples(failing) if failed else [])

    return PassRule(run)


def _aligned(
    rule: RuleInput, ref: DataFrame, fields: list[str]
) -> tuple[list[Column], list[Column]]:
    """The fields on both sides, the reference's read as this container's types."""
    mine, theirs = [], []
    for name in fields:
        data_type = rule.field_type(name)
        _ref_type(ref, name)
        mine.append(column(name).alias(name))
        theirs.append(column(name).try_cast(data_type).alias(name))
    return mine, theirs


def is_replica_of(rule: RuleInput) -> PassRule:
    """The fields' records are the same multiset on both sides (each record as often)."""
    p: ReferenceProperties = rule.props(ReferenceProperties)
    ref = _reference(rule, p.ref_filter)
    fields = [name for name, _, _ in rule.many()]
    mine, theirs = _aligned(rule, ref, fields)
    ref_rows = ref.select(*theirs)

    def run(df: DataFrame) -> Verdict:
        rows = df.select(*mine)
        only_here = rows.exceptAll(ref_rows)
        only_there = ref_rows.exceptAll(rows)
        here, there = only_here.count(), only_there.count()
        records = rows.count()
        message = (
            f"{here} records are missing from the reference and {there} records of the "
            f"reference are missing here (of {records} records)"
        )
        samples = _samples(only_here.withColumn(_DIFF, F.lit("only in target"))) if here else []
        if there and len(samples) < SAMPLE_ROWS_PER_ANOMALY:
            extra = only_there.withColumn(_DIFF, F.lit("only in reference"))
            samples += _samples(extra)[: SAMPLE_ROWS_PER_ANOMALY - len(samples)]
        return Verdict(here + there == 0, records, here + there, message, samples)

    return PassRule(run)


def data_diff(rule: RuleInput) -> PassRule:
    """Records differing between the two sides. With id_field_names, records are paired by
    them: a record only on one side, or paired with different values of the other fields,
    differs once. Without, it is isReplicaOf counted as records."""
    p: DataDiffProperties = rule.props(DataDiffProperties)
    if not p.id_field_names:
        return is_replica_of(rule)
    ref = _reference(rule, p.ref_filter)
    fields = list(dict.fromkeys([*p.id_field_names, *rule.check.fields]))
    for name in fields:
        rule.field_type(name)
    mine, theirs = _aligned(rule, ref, fields)
    compared = [name for name in fields if name not in p.id_field_names]
    left = [c.alias(f"l{i}") for i, c in enumerate(mine)]
    right = [c.alias(f"r{i}") for i, c in enumerate(theirs)]
    ids = [fields.index(name) for name in p.id_field_names]
    others = [fields.index(name) for name in compared]
    ref_rows = ref.select(*right, F.lit(True).alias("r_present"))

    def run(df: DataFrame) -> Verdict:
        rows = df.select(*left, F.lit(True).alias("l_present"))
        on = [F.col(f"l{i}").eqNullSafe(F.col(f"r{i}")) for i in ids]
        joined = rows.join(ref_rows, on, "full_outer")
        changed = F.lit(False)
        for i in others:
            changed = changed | ~F.col(f"l{i}").eqNullSafe(F.col(f"r{i}"))
        status = (
            F.when(F.col("r_present").isNull(), F.lit("only in target"))
            .when(F.col("l_present").isNull(), F.lit("only in reference"))
            .when(changed, F.lit("changed"))
        )
        # A record's ids from whichever side has it, its other fields from this side, and
        # the reference's record beside them.
        shown_fields = [
            (F.coalesce(F.col(f"l{i}"), F.col(f"r{i}")) if i in ids else F.col(f"l{i}")).alias(n)
            for i, n in enumerate(fields)
        ]
        theirs = F.struct(*[F.col(f"r{i}").alias(n) for i, n in enumerate(fields)])
        diffs = joined.select(status.alias(_DIFF), *shown_fields, theirs.alias(_REFERENCE)).where(
            F.col(_DIFF).isNotNull()
        )
        counts = diffs.groupBy(_DIFF).count().collect()
        by_status = {row[_DIFF]: int(row["count"]) for row in counts}
        failed = sum(by_status.values())
        records = rows.count()
        parts = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"
        message = f"{failed} records differ from the reference ({parts}; {records} records here)"
        return Verdict(failed == 0, records, failed, message, _samples(diffs) if failed else [])

    return PassRule(run)


_COMPARISONS = {
    "lt": (lambda a, b: a < b, "<"),
    "lte": (lambda a, b: a <= b, "<="),
    "eq": (lambda a, b: a == b, "=="),
    "gte": (lambda a, b: a >= b, ">="),
    "gt": (lambda a, b: a > b, ">"),
}


def _aggregate(df: DataFrame, expression: str, what: str) -> float | None:
    try:
        row = df.agg(F.expr(expression).alias("v")).first()
    except Exception as exc:
        message = str(exc).split("\n", 1)[0]
        raise CheckNotEvaluable(f"{what} {expression!r} is no aggregate here: {message}") from None
    assert row is not None
    value = row["v"]
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CheckNotEvaluable(f"{what} {expression!r} gives {value!r}, not a number") from None


def aggregation_comparison(rule: RuleInput) -> PassRule:
    """`expression` aggregated over this container's judged records against `ref_expression`
    over the reference (this container, unfiltered, without ref_container_id)."""
    p: AggregationComparisonProperties = rule.props(AggregationComparisonProperties)
    if p.ref_container_id is None:
        ref = rule.df
        if p.ref_filter:
            ref = ref.where(F.expr(p.ref_filter))
    else:
        ref = _reference(rule, p.ref_filter)
    test, sign = _COMPARISONS[p.comparison]

    def run(df: DataFrame) -> Verdict:
        mine = _aggregate(df, p.expression, "expression")
        theirs = _aggregate(ref, p.ref_expression, "ref_expression")
        passed = mine is not None and theirs is not None and bool(test(mine, theirs))
        message = (
            f"{p.expression} is {shown(mine)}, {p.ref_expression} of the reference is "
            f"{shown(theirs)}: expected {sign}"
        )
        return Verdict(passed, 0, 0, message, value=mine)

    return PassRule(run)
