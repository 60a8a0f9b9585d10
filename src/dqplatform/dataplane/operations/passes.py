"""The passes a container's checks share: ONE aggregation counts every per-record check
and computes every aggregate shape check; one more picks the failing checks' sample rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, Row, Window
from pyspark.sql import functions as F

from dqplatform.dataplane.operations.check_errors import isolated
from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.rules.base import AggregateRule, RecordRule, Rule
from dqplatform.dataplane.operations.scan_results import ScanResults
from dqplatform.dataplane.operations.values import row_dict
from dqplatform.messaging.operations import SAMPLE_ROWS_PER_ANOMALY, CheckSpec

_RECORDS = "__dqp_records"
_ROW = "__dqp_row"
_CHECK = "__dqp_check"
_ORDER = "__dqp_order"


@dataclass(frozen=True)
class Judged:
    """One check's rule on this container, with the condition selecting its records."""

    check: CheckSpec
    rule: Rule
    judged: Column
    alias: str


def flag(item: Judged) -> str:
    return f"{item.alias}_failing"


def _aggregates(items: list[Judged]) -> list[Column]:
    columns: list[Column] = []
    for item in items:
        if isinstance(item.rule, RecordRule):
            columns.append(F.count(F.when(item.judged, 1)).alias(f"{item.alias}_judged"))
            columns.append(F.count(F.when(F.col(flag(item)), 1)).alias(f"{item.alias}_failed"))
        elif isinstance(item.rule, AggregateRule):
            columns += item.rule.columns
    return columns


def flagged(df: DataFrame, items: list[Judged]) -> DataFrame:
    flags = [
        (item.judged & item.rule.failing).alias(flag(item))
        for item in items
        if isinstance(item.rule, RecordRule)
    ]
    return df.select("*", *flags)


def one_pass(
    ctx: OperationContext, df: DataFrame, items: list[Judged], results: ScanResults
) -> tuple[int, Row | None, list[Judged]]:
    """(records, the pass's row, the items it judged). The checks' counts and aggregates in
    one aggregation; should it fail at run time (a cast in an expression, say), the checks
    are halved until the ones at fault are found alone (a few passes, not one per check):
    those are reported, the others still judged."""

    def run(subset: list[Judged]) -> Row:
        row = flagged(df, subset).agg(F.count(F.lit(1)).alias(_RECORDS), *_aggregates(subset))
        first = row.first()
        assert first is not None  # an aggregation without grouping has one row
        return first

    merged: dict[str, Any] = {}
    good: list[Judged] = []
    pending = [items]
    while pending:
        ctx.cancel.raise_if_cancelled()
        subset = pending.pop()
        outcome = isolated(ctx, lambda subset=subset: run(subset))  # type: ignore[misc]
        if not isinstance(outcome, str):
            merged.update(outcome.asDict())
            good += subset
        elif len(subset) == 1:
            results.not_evaluable(subset[0].check, outcome)
        else:
            half = len(subset) // 2
            pending += [subset[half:], subset[:half]]
    if _RECORDS not in merged:
        return df.count(), None, []
    return int(merged[_RECORDS]), Row(**merged), good


# A check failing on more records than this finds its samples in the first partitions it
# reads: a query of its own, stopped at SAMPLE_ROWS_PER_ANOMALY rows, costs a fraction of a
# pass. Rarer failures are picked together in one pass, where they are few rows to number.
FREQUENT_FAILURES = 10_000


def samples(df: DataFrame, failing: list[tuple[Judged, int]]) -> dict[str, list[dict[str, Any]]]:
    """Up to SAMPLE_ROWS_PER_ANOMALY failing records of every failing check (with its
    failed count)."""
    by_check: dict[str, list[dict[str, Any]]] = defaultdict(list)
    originals = [F.col(f"`{name}`") for name in df.columns]
    frequent = [item for item, failed in failing if failed > FREQUENT_FAILURES]
    rare = [item for item, failed in failing if failed <= FREQUENT_FAILURES]
    for item in frequent:
        first = (
            flagged(df, [item])
            .where(F.col(flag(item)))
            .select(F.struct(*originals).alias(_ROW))
            .limit(SAMPLE_ROWS_PER_ANOMALY)
            .collect()
        )
        by_check[item.alias] = [row_dict(row[_ROW]) for row in first]
    if not rare:
        return by_check
    marked = flagged(df, rare)
    which = F.filter(
        F.array(*[F.when(F.col(flag(item)), F.lit(item.alias)) for item in rare]),
        lambda alias: alias.isNotNull(),
    )
    any_failing = F.lit(False)
    for item in rare:
        any_failing = any_failing | F.col(flag(item))
    exploded = marked.where(any_failing).select(
        F.struct(*originals).alias(_ROW), F.explode(which).alias(_CHECK)
    )
    numbered = exploded.withColumn(_ORDER, F.monotonically_increasing_id()).withColumn(
        "__dqp_n", F.row_number().over(Window.partitionBy(_CHECK).orderBy(_ORDER))
    )
    picked = numbered.where(F.col("__dqp_n") <= SAMPLE_ROWS_PER_ANOMALY).select(_CHECK, _ROW)
    for row in picked.collect():
        by_check[row[_CHECK]].append(row_dict(row[_ROW]))
    return by_check
