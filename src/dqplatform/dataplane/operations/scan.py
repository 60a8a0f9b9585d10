"""The scan operation: every check judged on its container, an anomaly for each failure.

Per container: its per-record checks and aggregate shape checks are judged in ONE
aggregation over its rows, and one more pass picks the sample rows of the failing ones
(passes.py); rules that need work of their own (a join with a reference, a group-by by
interval) and the schema rules follow.
"""

from __future__ import annotations

from collections import defaultdict

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dqplatform.dataplane.operations.check_errors import isolated
from dqplatform.dataplane.operations.checks import rule_for
from dqplatform.dataplane.operations.context import OperationContext, OperationFailed
from dqplatform.dataplane.operations.errors import spark_errors
from dqplatform.dataplane.operations.passes import Judged, one_pass, samples
from dqplatform.dataplane.operations.readers import (
    Container,
    open_reference,
    read_container,
    selected_containers,
)
from dqplatform.dataplane.operations.rules.base import (
    AggregateRule,
    CheckNotEvaluable,
    FixedRule,
    PassRule,
    RecordRule,
    RuleInput,
    Verdict,
    never_null,
    typed_properties,
)
from dqplatform.dataplane.operations.rules.record import boolean_expression
from dqplatform.dataplane.operations.scan_results import (
    ScanResults,
    counted_verdict,
    record_message,
)
from dqplatform.dataplane.operations.scope import operation_scope
from dqplatform.messaging.operations import CheckSpec, ScanResult
from dqplatform.messaging.rule_properties import PropertiesError
from dqplatform.messaging.rules import CONTRACTS


def _prepare(
    ctx: OperationContext, df: DataFrame, checks: list[CheckSpec], results: ScanResults
) -> list[Judged]:
    prepared = []
    for index, check in enumerate(checks):

        def build(check: CheckSpec = check, index: int = index) -> Judged:
            contract = CONTRACTS[check.rule]
            try:
                properties = typed_properties(check)
            except PropertiesError as exc:
                raise CheckNotEvaluable(str(exc)) from None
            judged: Column = F.lit(True)
            if check.filter and contract.filterable:
                judged = never_null(boolean_expression(df, check.filter, "the filter"))
            reference = None
            if contract.cross_container and check.reference is not None:
                try:
                    reference = open_reference(ctx, check.reference)
                except OperationFailed as exc:
                    # The reference's fault, not the scanned container's: this check alone.
                    raise CheckNotEvaluable(str(exc)) from None
            alias = f"__dqp_c{index}"
            rule = rule_for(RuleInput(check, properties, df, judged, alias, reference))
            return Judged(check, rule, judged, alias)

        outcome = isolated(ctx, build)
        if isinstance(outcome, str):
            results.not_evaluable(check, outcome)
        else:
            prepared.append(outcome)
    return prepared


def _judge_container(
    ctx: OperationContext, container: Container, checks: list[CheckSpec], results: ScanResults
) -> int:
    """Judge `checks` on `container`; the records read."""
    df, sampled = read_container(ctx, container)
    # A database table is read again by every pass (the one aggregation, the samples, the
    # joins): kept, it is queried once and every pass sees the same rows; the size limit
    # bounds what is kept, on disk if need be. Files are not kept: building the cache costs
    # about three reads of a Parquet table (bench/bench_scan.py), reading it again less.
    keep = container.file is None
    if keep:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        items = _prepare(ctx, df, checks, results)
        in_pass = [i for i in items if isinstance(i.rule, RecordRule | AggregateRule)]
        records, row, in_pass = one_pass(ctx, df, in_pass, results)
        sample_of = records if sampled else None
        failing: list[tuple[Judged, int, int]] = []
        for item in in_pass:
            assert row is not None
            if isinstance(item.rule, AggregateRule):
                verdict = isolated(ctx, lambda item=item: item.rule.judge(row))  # type: ignore[union-attr, misc]
                if isinstance(verdict, str):
                    results.not_evaluable(item.check, verdict)
                else:
                    results.add(item.check, verdict, sample_of)
                continue
            judged, failed = int(row[f"{item.alias}_judged"]), int(row[f"{item.alias}_failed"])
            if counted_verdict(item.check, judged, failed, "").passed:
                results.add(item.check, Verdict(True, judged, failed, ""), sample_of)
            else:
                failing.append((item, judged, failed))
        ctx.cancel.raise_if_cancelled()
        picked = isolated(ctx, lambda: samples(df, [(item, f) for item, _, f in failing]))
        for item, judged, failed in failing:
            assert isinstance(item.rule, RecordRule)
            message = record_message(item.check, judged, failed, item.rule.describe)
            rows = picked.get(item.alias, []) if isinstance(picked, dict) else []
            results.add(
                item.check, counted_verdict(item.check, judged, failed, message, rows), sample_of
            )
        for item in items:
            ctx.cancel.raise_if_cancelled()
            if isinstance(item.rule, FixedRule):
                results.add(item.check, item.rule.verdict, None)
            elif isinstance(item.rule, PassRule):
                _judge_alone(ctx, df, item, results, sample_of)
    finally:
        if keep:
            df.unpersist()
    return records


def _judge_alone(
    ctx: OperationContext, df: DataFrame, item: Judged, results: ScanResults, sample_of: int | None
) -> None:
    assert isinstance(item.rule, PassRule)
    run = item.rule.run
    verdict = isolated(ctx, lambda: run(df.where(item.judged)))
    if isinstance(verdict, str):
        results.not_evaluable(item.check, verdict)
        return
    if CONTRACTS[item.check.rule].anomaly_type == "record":
        # existsIn, notExistsIn, dataDiff: their failed records count as any per-record rule's.
        verdict = counted_verdict(
            item.check, verdict.records, verdict.failed, verdict.message, verdict.samples
        )
    results.add(item.check, verdict, sample_of)


def run_scan(ctx: OperationContext) -> ScanResult:
    request = ctx.request
    results = ScanResults()
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
                results.not_evaluable(check, f"the datastore has no container {name!r}")
        to_scan = [container for container in containers if container.name in by_container]
        ctx.update(total_containers=len(to_scan))
        for done, container in enumerate(to_scan, start=1):
            ctx.cancel.raise_if_cancelled()
            with spark_errors(ctx, f"scanning {container.type} {container.name!r}"):
                records = _judge_container(ctx, container, by_container[container.name], results)
            ctx.update(containers_analyzed=done, add_records=records)
    order = {check.id: index for index, check in enumerate(request.checks)}
    results.findings.sort(key=lambda finding: order.get(finding.check_id, len(order)))
    results.outcomes.sort(key=lambda outcome: order.get(outcome.check_id, len(order)))
    return ScanResult(
        checks_evaluated=len(checks), anomalies=results.findings, outcomes=results.outcomes
    )
