"""The scan operation: each check judged on its container, an anomaly for each failure."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dqplatform.dataplane.operations.checks import (
    CheckNotEvaluable,
    RowRule,
    Rule,
    UniqueRule,
    rule_for,
)
from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.errors import spark_errors
from dqplatform.dataplane.operations.readers import Container, read_container, selected_containers
from dqplatform.dataplane.operations.scope import operation_scope
from dqplatform.dataplane.operations.values import row_dict
from dqplatform.messaging.operations import (
    SAMPLE_ROWS_PER_ANOMALY,
    AnomalyFinding,
    CheckSpec,
    ScanResult,
)

_RECORDS = "__dqp_records"
_KEY = "__dqp_key"


def _records(count: int) -> str:
    return "1 record has" if count == 1 else f"{count} records have"


def not_evaluable(check: CheckSpec, reason: str) -> AnomalyFinding:
    """A check that could not be judged is reported as failed, never silently skipped."""
    return AnomalyFinding(
        check_id=check.id,
        container=check.container,
        field=check.field,
        rule=check.rule,
        failed_records=0,
        sample_rows=[],
        message=f"check {check.id} could not be evaluated: {reason}",
    )


def _finding(
    check: CheckSpec,
    failed: int,
    what: str,
    samples: list[dict[str, Any]],
    sample_of: int | None,
) -> AnomalyFinding:
    """`what` says what the failed records have: "12 records have null values"."""
    message = f"{what} in field {check.field}"
    if sample_of is not None:
        message += f" (in a sample of {sample_of} records)"
    return AnomalyFinding(
        check_id=check.id,
        container=check.container,
        field=check.field,
        rule=check.rule,
        failed_records=failed,
        sample_rows=samples,
        message=message,
    )


def _samples(df: DataFrame) -> list[dict[str, Any]]:
    return [row_dict(row) for row in df.limit(SAMPLE_ROWS_PER_ANOMALY).collect()]


def _judge_unique(df: DataFrame, rule: UniqueRule, sample_of: int | None) -> AnomalyFinding | None:
    # As SQL's UNIQUE: nulls are no values, so several nulls are no duplicate.
    repeated = (
        df.select(rule.key.alias(_KEY))
        .where(F.col(_KEY).isNotNull())
        .groupBy(_KEY)
        .count()
        .where(F.col("count") > 1)
    )
    totals = repeated.agg(F.sum("count").alias("rows"), F.count(F.lit(1)).alias("values")).first()
    assert totals is not None  # an aggregation without grouping has one row
    if not totals["rows"]:
        return None
    rows, values = int(totals["rows"]), int(totals["values"])
    failing = df.join(repeated.select(_KEY), rule.key == F.col(_KEY), "left_semi")
    shared = "1 duplicated value" if values == 1 else f"{values} duplicated values"
    what = f"{rows} records share {shared}"
    return _finding(rule.check, rows, what, _samples(failing), sample_of)


def _judge_container(
    ctx: OperationContext, container: Container, checks: list[CheckSpec]
) -> tuple[list[AnomalyFinding], int]:
    """The findings of `checks` on `container`, and the records read."""
    df, sampled = read_container(ctx, container)
    findings: list[AnomalyFinding] = []
    rules: list[Rule] = []
    for check in checks:
        try:
            rules.append(rule_for(ctx.engine.session, check, df))
        except CheckNotEvaluable as exc:
            findings.append(not_evaluable(check, str(exc)))
    # Several passes read the data (the counts, each unique check, each failure's samples):
    # kept, they all see the same rows. The size limit bounds what is kept, on disk if need be.
    df = df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        row_rules = [rule for rule in rules if isinstance(rule, RowRule)]
        failed_counts = [
            F.count(F.when(rule.failing, 1)).alias(f"failed_{index}")
            for index, rule in enumerate(row_rules)
        ]
        # Every row-by-row check is counted in this one pass.
        counts = df.agg(F.count(F.lit(1)).alias(_RECORDS), *failed_counts).first()
        assert counts is not None  # an aggregation without grouping has one row
        records = int(counts[_RECORDS])
        sample_of = records if sampled else None
        for index, rule in enumerate(row_rules):
            ctx.cancel.raise_if_cancelled()
            failed = int(counts[f"failed_{index}"])
            if failed:
                samples = _samples(df.where(rule.failing))
                what = f"{_records(failed)} {rule.describe}"
                findings.append(_finding(rule.check, failed, what, samples, sample_of))
        for unique in (rule for rule in rules if isinstance(rule, UniqueRule)):
            ctx.cancel.raise_if_cancelled()
            finding = _judge_unique(df, unique, sample_of)
            if finding is not None:
                findings.append(finding)
    finally:
        df.unpersist()
    return findings, records


def run_scan(ctx: OperationContext) -> ScanResult:
    request = ctx.request
    findings: list[AnomalyFinding] = []
    with operation_scope(ctx):
        containers = selected_containers(ctx)
        wanted = None if request.container_names is None else set(request.container_names)
        checks = [c for c in request.checks if wanted is None or c.container in wanted]
        by_container: dict[str, list[CheckSpec]] = defaultdict(list)
        for check in checks:
            by_container[check.container].append(check)
        present = {container.name for container in containers}
        for name in by_container.keys() - present:
            for check in by_container[name]:
                findings.append(not_evaluable(check, f"the datastore has no container {name!r}"))
        to_scan = [container for container in containers if container.name in by_container]
        ctx.update(total_containers=len(to_scan))
        for done, container in enumerate(to_scan, start=1):
            ctx.cancel.raise_if_cancelled()
            with spark_errors(ctx, f"scanning {container.type} {container.name!r}"):
                found, records = _judge_container(ctx, container, by_container[container.name])
            findings += found
            ctx.update(containers_analyzed=done, add_records=records)
    order = {check.id: index for index, check in enumerate(request.checks)}
    findings.sort(key=lambda finding: order.get(finding.check_id, len(order)))
    return ScanResult(checks_evaluated=len(checks), anomalies=findings)
