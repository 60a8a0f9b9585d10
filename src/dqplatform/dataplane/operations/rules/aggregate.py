"""Shape rules judged from aggregates of the container's one pass: distinctCount, sum,
requiredValues, minPartitionSize, maxPartitionSize, metric and volumetric.

metric and volumetric compare with earlier scans' figures, which the dataplane does not
keep: the controlplane sends them in `CheckSpec.history` (oldest first). Without history a
change cannot be judged: the check passes and says so, and reports the figure it measured
(CheckOutcome.value) to start the history.
"""

from __future__ import annotations

import math
from statistics import fmean

from pyspark.sql import Row
from pyspark.sql import functions as F

from dqplatform.dataplane.operations.rules.base import (
    AggregateRule,
    CheckNotEvaluable,
    RuleInput,
    Verdict,
    is_number,
    number,
    shown,
)
from dqplatform.dataplane.operations.rules.record import typed_literal
from dqplatform.messaging.rule_properties import (
    BoundProperties,
    CountProperties,
    DistinctCountProperties,
    ListProperties,
    RangeComparisonProperties,
    VolumetricProperties,
)
from dqplatform.messaging.rules import RuleType


def distinct_count(rule: RuleInput) -> AggregateRule:
    p: DistinctCountProperties = rule.props(DistinctCountProperties)
    name, value, _ = rule.single()
    alias = f"{rule.alias}_distinct"
    # Exact (count distinct), not approximate: "equal to" needs the true figure.
    columns = [F.count_distinct(F.when(rule.judged, value)).alias(alias)]

    def judge(row: Row) -> Verdict:
        found = int(row[alias])
        passed = {
            "less than": found < p.value,
            "equal to": found == p.value,
            "greater than": found > p.value,
        }[p.comparison]
        message = f"{name} holds {found} distinct values; expected {p.comparison} {p.value}"
        return Verdict(passed, 0, 0, message, value=float(found))

    return AggregateRule(columns, judge)


def sum_rule(rule: RuleInput) -> AggregateRule:
    """The field's sum over the judged records equals `value` (to 1e-9 relative, for floating
    point sums; decimals sum exactly)."""
    p: BoundProperties = rule.props(BoundProperties)
    name, value, data_type = rule.single()
    if not is_number(data_type):
        raise CheckNotEvaluable(f"field {name!r} is {data_type.simpleString()}: sum needs numbers")
    alias = f"{rule.alias}_sum"
    columns = [F.sum(F.when(rule.judged, value)).alias(alias)]

    def judge(row: Row) -> Verdict:
        total = 0.0 if row[alias] is None else float(row[alias])
        passed = math.isclose(total, p.value, rel_tol=1e-9, abs_tol=1e-9)
        message = f"the sum of {name} is {shown(total)}; expected {shown(p.value)}"
        return Verdict(passed, 0, 0, message, value=total)

    return AggregateRule(columns, judge)


def required_values(rule: RuleInput) -> AggregateRule:
    p: ListProperties = rule.props(ListProperties)
    name, value, data_type = rule.single()
    compared = value.cast("double") if is_number(data_type) else value
    columns = [
        F.count(F.when(rule.judged & (compared == typed_literal(item, name, data_type)), 1)).alias(
            f"{rule.alias}_v{index}"
        )
        for index, item in enumerate(p.list)
    ]

    def judge(row: Row) -> Verdict:
        missing = [item for index, item in enumerate(p.list) if not row[f"{rule.alias}_v{index}"]]
        if not missing:
            return Verdict(True, 0, 0, f"{name} holds every required value")
        shown_missing = ", ".join(shown(item) for item in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        message = (
            f"{name} lacks {len(missing)} of the {len(p.list)} required values: "
            f"{shown_missing}{more}"
        )
        return Verdict(False, 0, 0, message)

    return AggregateRule(columns, judge)


def partition_size(rule: RuleInput) -> AggregateRule:
    p: CountProperties = rule.props(CountProperties)
    alias = f"{rule.alias}_records"
    smallest = rule.check.rule == RuleType.MIN_PARTITION_SIZE
    columns = [F.count(F.when(rule.judged, 1)).alias(alias)]

    def judge(row: Row) -> Verdict:
        records = int(row[alias])
        passed = records >= p.value if smallest else records <= p.value
        bound = "at least" if smallest else "at most"
        message = f"{records} records; expected {bound} {p.value}"
        return Verdict(passed, records, 0, message, value=float(records))

    return AggregateRule(columns, judge)


def _within(figure: float, p: RangeComparisonProperties) -> bool:
    return (p.min is None or figure >= p.min) and (p.max is None or figure <= p.max)


def _range(p: RangeComparisonProperties) -> str:
    low = "-inf" if p.min is None else shown(p.min)
    high = "inf" if p.max is None else shown(p.max)
    return f"[{low}, {high}]"


def compare_with_history(
    what: str, figure: float, history: list[float], window: int, p: RangeComparisonProperties
) -> tuple[bool, str]:
    """Absolute Value: the figure lies in [min, max]. Absolute Change and Percentage Change
    (in percent): its change from the mean of the last `window` earlier figures does."""
    if p.comparison == "Absolute Value":
        passed = _within(figure, p)
        return passed, f"{what} is {shown(figure)}; expected within {_range(p)}"
    if not history:
        return True, f"{what} is {shown(figure)}; no earlier scan to measure its change against"
    base = fmean(history[-window:])
    if p.comparison == "Absolute Change":
        change = figure - base
        passed = _within(change, p)
        return passed, (
            f"{what} changed by {shown(change)} (from {shown(base)} to {shown(figure)}); "
            f"expected within {_range(p)}"
        )
    if base == 0:
        return figure == 0, f"{what} is {shown(figure)}, from 0: no percentage change"
    percent = (figure - base) / abs(base) * 100
    passed = _within(percent, p)
    return passed, (
        f"{what} changed by {percent:.2f}% (from {shown(base)} to {shown(figure)}); "
        f"expected within {_range(p)} %"
    )


def volumetric(rule: RuleInput) -> AggregateRule:
    """The container's record count, against its range or its earlier counts."""
    p: VolumetricProperties = rule.props(VolumetricProperties)
    alias = f"{rule.alias}_records"
    columns = [F.count(F.lit(1)).alias(alias)]

    def judge(row: Row) -> Verdict:
        records = int(row[alias])
        passed, message = compare_with_history(
            "the record count", float(records), rule.check.history, p.window_size, p
        )
        return Verdict(passed, records, 0, message, value=float(records))

    return AggregateRule(columns, judge)


def metric(rule: RuleInput) -> AggregateRule:
    """Absolute Value: every judged record's value lies in [min, max] (inclusive); the
    failing records are counted. The changes compare the field's sum over the judged
    records with the earlier scans' sums (for the one-record containers a metric usually
    watches, the sum is the value)."""
    p: RangeComparisonProperties = rule.props(RangeComparisonProperties)
    name, value, data_type = rule.single()
    as_number, bad = number(name, value, data_type)
    outside = F.lit(False)
    if p.min is not None:
        outside = outside | (as_number < p.min)
    if p.max is not None:
        outside = outside | (as_number > p.max)
    failing = rule.judged & (F.coalesce(outside, F.lit(False)) | bad)
    a_total, a_failed, a_records = (f"{rule.alias}_{s}" for s in ("sum", "failed", "records"))
    columns = [
        F.sum(F.when(rule.judged, as_number)).alias(a_total),
        F.count(F.when(failing, 1)).alias(a_failed),
        F.count(F.when(rule.judged, 1)).alias(a_records),
    ]

    def judge(row: Row) -> Verdict:
        total = 0.0 if row[a_total] is None else float(row[a_total])
        records, failed = int(row[a_records]), int(row[a_failed])
        if p.comparison == "Absolute Value":
            message = (
                f"{failed} of {records} records have a {name} outside {_range(p)}"
                if failed
                else f"every {name} lies within {_range(p)}"
            )
            return Verdict(failed == 0, records, failed, message, value=total)
        passed, message = compare_with_history(
            f"the sum of {name}", total, rule.check.history, 1, p
        )
        return Verdict(passed, records, 0, message, value=total)

    return AggregateRule(columns, judge)
