"""Shape rules (aggregates, the schema, time distribution, history) and cross-container
rules (a reference container read through its own datastore) on planted data; every figure
computed in plain Python over the same rows. Also: checks that cannot be judged are
reported with the reason, and the others are still judged."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.dispatch import run_operation
from dqplatform.messaging.operations import (
    SAMPLE_ROWS_PER_ANOMALY,
    CheckOutcome,
    CheckSpec,
    ReferenceSpec,
    ScanResult,
)
from dqplatform.messaging.rules import CONTRACTS, RuleType
from tests.integration.dataplane.operations import rule_rows as g
from tests.integration.dataplane.operations.conftest import make_context

R = RuleType
DATA = g.rows()
CONTAINER, REF = "t.parquet", "ref.parquet"


def _reference_rows() -> list[dict[str, Any]]:
    """The target's rows less those with id % 10 == 3, with a changed status where
    id % 10 == 5, and three rows of its own."""
    rows = []
    for row in DATA:
        if row["id"] % 10 == 3:
            continue
        copy = dict(row)
        if row["id"] % 10 == 5:
            copy["status"] = "changed"
        rows.append(copy)
    for extra in range(1000, 1003):
        rows.append({**DATA[1], "id": extra, "code": f"XX-{extra}"})
    return rows


REF_ROWS = _reference_rows()
QTY_SUM = sum(r["qty"] for r in DATA if r["qty"] is not None)
PRICE_SUM = float(sum(r["price"] for r in DATA if r["price"] is not None))
STATUSES = {r["status"] for r in DATA if r["status"] is not None}
MONTHS = Counter((r["day"].year, r["day"].month) for r in DATA if r["day"] is not None)
NEWEST_DAY = max(r["day"] for r in DATA if r["day"] is not None)


def _ref_spec(folder: Path) -> ReferenceSpec:
    return ReferenceSpec(datastore=g.files(folder), container=REF)


def _multiset(rows: list[dict[str, Any]], fields: list[str]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(r[f] for f in fields) for r in rows)


def _replica_differences(target: list[dict[str, Any]], fields: list[str]) -> int:
    here, there = _multiset(target, fields), _multiset(REF_ROWS, fields)
    return sum((here - there).values()) + sum((there - here).values())


def _data_diff(target: list[dict[str, Any]], compared: list[str]) -> int:
    mine = {r["id"]: r for r in target}
    theirs = {r["id"]: r for r in REF_ROWS}
    only_here = len(mine.keys() - theirs.keys())
    only_there = len(theirs.keys() - mine.keys())
    changed = sum(
        1
        for key in mine.keys() & theirs.keys()
        if any(mine[key][f] != theirs[key][f] for f in compared)
    )
    return only_here + only_there + changed


def _codes_missing(target: list[dict[str, Any]]) -> set[int]:
    codes = {r["code"] for r in REF_ROWS if r["code"] is not None}
    return {r["id"] for r in target if r["code"] is not None and r["code"] not in codes}


def _codes_present(target: list[dict[str, Any]]) -> set[int]:
    codes = {r["code"] for r in REF_ROWS if r["code"] is not None}
    return {r["id"] for r in target if r["code"] is not None and r["code"] in codes}


QTY_OVER_40 = [r for r in DATA if r["qty"] is not None and r["qty"] > 40]
FIELD_NAMES = [f.name for f in g.SCHEMA.fields]
MONTH_MIN = sorted(MONTHS.values())[1]  # the smallest month (or two) fails


# (check, whether it passes, failed_records expected or None when not counted)
def cases(folder: Path) -> list[tuple[CheckSpec, bool, int | None]]:
    ref = _ref_spec(folder)
    specs: list[tuple[dict[str, Any], bool, int | None]] = [
        (
            {
                "rule": R.DISTINCT_COUNT,
                "fields": ["status"],
                "properties": {"value": len(STATUSES)},
            },
            True,
            0,
        ),
        (
            {
                "rule": R.DISTINCT_COUNT,
                "fields": ["status"],
                "properties": {"value": 2, "comparison": "greater than"},
            },
            len(STATUSES) > 2,
            0,
        ),
        (
            {
                "rule": R.DISTINCT_COUNT,
                "fields": ["status"],
                "properties": {"value": 3, "comparison": "less than"},
            },
            False,
            0,
        ),
        ({"rule": R.SUM, "fields": ["qty"], "properties": {"value": QTY_SUM}}, True, 0),
        ({"rule": R.SUM, "fields": ["qty"], "properties": {"value": QTY_SUM + 1}}, False, 0),
        ({"rule": R.SUM, "fields": ["price"], "properties": {"value": PRICE_SUM}}, True, 0),
        (
            {
                "rule": R.SUM,
                "fields": ["qty"],
                "properties": {"value": sum(r["qty"] for r in QTY_OVER_40)},
                "filter": "qty > 40",
            },
            True,
            0,
        ),
        (
            {
                "rule": R.REQUIRED_VALUES,
                "fields": ["status"],
                "properties": {"list": ["active", "deleted"]},
            },
            True,
            0,
        ),
        (
            {
                "rule": R.REQUIRED_VALUES,
                "fields": ["status"],
                "properties": {"list": ["active", "archived", "Active"]},
            },
            False,
            0,
        ),
        (
            {
                "rule": R.REQUIRED_VALUES,
                "fields": ["status"],
                "properties": {"list": ["deleted"]},
                "filter": "id % 23 <> 0",  # the planted statuses are all at id % 23 == 0
            },
            False,
            0,
        ),
        ({"rule": R.FIELD_COUNT, "properties": {"value": len(FIELD_NAMES)}}, True, 0),
        ({"rule": R.FIELD_COUNT, "properties": {"value": 5}}, False, 0),
        (
            {
                "rule": R.EXPECTED_SCHEMA,
                "properties": {"list": ["id", {"name": "amount", "type": "Fractional"}]},
            },
            True,
            0,
        ),
        (
            {
                "rule": R.EXPECTED_SCHEMA,
                "properties": {"list": ["id"], "allow_other_fields": False},
            },
            False,
            0,
        ),
        (
            {
                "rule": R.EXPECTED_SCHEMA,
                "properties": {"list": ["id", {"name": "qty", "type": "String"}]},
            },
            False,
            0,
        ),
        (
            {
                "rule": R.EXPECTED_SCHEMA,
                "properties": {"list": FIELD_NAMES, "allow_other_fields": False},
            },
            True,
            0,
        ),
        ({"rule": R.FRESHNESS, "fields": ["day"], "properties": {"value": 1000}}, False, 0),
        (
            {
                "rule": R.FRESHNESS,
                "fields": ["day"],
                "properties": {"value": 10 * 365 * 86_400_000},
            },
            True,
            0,
        ),
        ({"rule": R.MIN_PARTITION_SIZE, "properties": {"value": g.ROWS}}, True, 0),
        ({"rule": R.MIN_PARTITION_SIZE, "properties": {"value": g.ROWS + 1}}, False, 0),
        ({"rule": R.MAX_PARTITION_SIZE, "properties": {"value": g.ROWS - 1}}, False, 0),
        (
            {
                "rule": R.MAX_PARTITION_SIZE,
                "properties": {"value": len(QTY_OVER_40)},
                "filter": "qty > 40",
            },
            True,
            0,
        ),
        (
            {
                "rule": R.MIN_PARTITION_SIZE,
                "properties": {"value": len(QTY_OVER_40) + 1},
                "filter": "qty > 40",
            },
            False,
            0,
        ),
        (
            {
                "rule": R.TIME_DISTRIBUTION_SIZE,
                "fields": ["day"],
                "properties": {"interval": "month", "min": MONTH_MIN},
            },
            False,
            sum(n for n in MONTHS.values() if n < MONTH_MIN),
        ),
        (
            {
                "rule": R.TIME_DISTRIBUTION_SIZE,
                "fields": ["day"],
                "properties": {"interval_name": "Yearly", "min_size": 1, "max_size": g.ROWS},
            },
            True,
            0,
        ),
        (
            {
                "rule": R.VOLUMETRIC,
                "properties": {"comparison": "Absolute Value", "min": 0, "max": g.ROWS - 1},
            },
            False,
            0,
        ),
        (
            {
                "rule": R.VOLUMETRIC,
                "properties": {"comparison": "Absolute Change", "min": -5, "max": 5},
            },
            True,
            0,
        ),
        (
            {
                "rule": R.VOLUMETRIC,
                "properties": {"comparison": "Absolute Change", "min": -5, "max": 5},
                "history": [390],
            },
            False,
            0,
        ),
        (
            {
                "rule": R.VOLUMETRIC,
                "properties": {
                    "comparison": "Percentage Change",
                    "min": 0,
                    "max": 5,
                    "window_size": 2,
                },
                "history": [100, 380, 400],  # the mean of the last two: 390, +2.56 %
            },
            True,
            0,
        ),
        (
            {
                "rule": R.METRIC,
                "fields": ["qty"],
                "properties": {"comparison": "Absolute Value", "min": 0, "max": 45},
            },
            False,
            sum(1 for r in DATA if r["qty"] is not None and r["qty"] > 45),
        ),
        (
            {
                "rule": R.METRIC,
                "fields": ["qty"],
                "properties": {"comparison": "Absolute Change", "max": 10},
                "history": [QTY_SUM - 10],
            },
            True,
            0,
        ),
        # Cross-container.
        (
            {
                "rule": R.EXISTS_IN,
                "fields": ["code"],
                "properties": {"field_name": "code", "ref_container_id": 2},
                "reference": ref,
            },
            False,
            len(_codes_missing(DATA)),
        ),
        (
            {
                "rule": R.NOT_EXISTS_IN,
                "fields": ["code"],
                "properties": {"field_name": "code", "ref_container_id": 2},
                "reference": ref,
            },
            False,
            len(_codes_present(DATA)),
        ),
        (
            {
                "rule": R.EXISTS_IN,
                "fields": ["code"],
                "properties": {"field_name": "code", "ref_container_id": 2},
                "reference": ref,
                "filter": "id % 10 <> 3",
            },
            # What is missing then is codes the reference has only on dropped rows.
            not _codes_missing([r for r in DATA if r["id"] % 10 != 3]),
            len(_codes_missing([r for r in DATA if r["id"] % 10 != 3])),
        ),
        (
            {
                "rule": R.EXISTS_IN,
                "fields": ["code"],
                "properties": {"field_name": "code", "ref_container_id": 2},
                "reference": ref,
                "coverage": 0.5,
            },
            True,
            len(_codes_missing(DATA)),
        ),
        (
            {
                "rule": R.IS_REPLICA_OF,
                "fields": ["id", "status"],
                "properties": {"ref_container_id": 2},
                "reference": ref,
            },
            False,
            _replica_differences(DATA, ["id", "status"]),
        ),
        (
            {
                "rule": R.IS_REPLICA_OF,
                "fields": ["name", "qty"],
                "properties": {"ref_container_id": 2},
                "reference": ref,
                "filter": "id % 10 NOT IN (3, 5)",
            },
            False,
            _replica_differences([r for r in DATA if r["id"] % 10 not in (3, 5)], ["name", "qty"]),
        ),
        (
            {
                "rule": R.DATA_DIFF,
                "fields": ["status", "qty"],
                "properties": {"ref_container_id": 2, "id_field_names": ["id"]},
                "reference": ref,
            },
            False,
            _data_diff(DATA, ["status", "qty"]),
        ),
        (
            {
                "rule": R.DATA_DIFF,
                "fields": ["id", "qty"],
                "properties": {"ref_container_id": 2},
                "reference": ref,
            },
            False,
            _replica_differences(DATA, ["id", "qty"]),
        ),
        (
            {
                "rule": R.DATA_DIFF,
                "fields": ["qty"],
                "properties": {
                    "ref_container_id": 2,
                    "id_field_names": ["id"],
                    "ref_filter": "id < 1000",
                },
                "reference": ref,
                "coverage": 0.8,
            },
            False,  # dataDiff takes no coverage (the client's contract): any difference fails
            _data_diff(DATA, ["qty"]) - 3,
        ),
        (
            {
                "rule": R.AGGREGATION_COMPARISON,
                "properties": {
                    "expression": "sum(qty)",
                    "comparison": "eq",
                    "ref_expression": "sum(qty)",
                    "ref_container_id": 2,
                },
                "reference": ref,
            },
            sum(r["qty"] for r in REF_ROWS if r["qty"] is not None) == QTY_SUM,
            0,
        ),
        (
            {
                "rule": R.AGGREGATION_COMPARISON,
                "properties": {
                    "expression": "count(*)",
                    "comparison": "gte",
                    "ref_expression": "count(*)",
                    "ref_container_id": 2,
                },
                "reference": ref,
            },
            len(REF_ROWS) <= g.ROWS,
            0,
        ),
        (
            {
                "rule": R.AGGREGATION_COMPARISON,
                "properties": {
                    "expression": "count(*)",
                    "comparison": "lt",
                    "ref_expression": "count(*)",
                    "ref_filter": "qty > 40",
                },
                "filter": "qty > 40",
            },
            False,
            0,
        ),
    ]
    return [
        (CheckSpec(id=i + 1, container=CONTAINER, **spec), passes, failed)
        for i, (spec, passes, failed) in enumerate(specs)
    ]


BAD: list[dict[str, Any]] = [
    # A filter that is no Spark SQL, one naming a missing field, one that is no condition.
    {"rule": R.NOT_NULL, "fields": ["name"], "filter": "qty >< 3"},
    {"rule": R.NOT_NULL, "fields": ["name"], "filter": "nope = 1"},
    {"rule": R.NOT_NULL, "fields": ["name"], "filter": "qty + 1"},
    # Fails at run time only (ANSI: text that is no number cannot be cast).
    {"rule": R.SATISFIES_EXPRESSION, "properties": {"expression": "cast(name as int) > 0"}},
    {"rule": R.SUM, "fields": ["name"], "properties": {"value": 1}},
    {
        "rule": R.EXISTS_IN,
        "fields": ["code"],
        "properties": {"field_name": "code", "ref_container_id": 2},
    },
    {
        "rule": R.EXISTS_IN,
        "fields": ["code"],
        "properties": {"field_name": "nope", "ref_container_id": 2},
        "reference": "ref",
    },
    {"rule": R.BETWEEN, "fields": ["amount"], "properties": {"min": 5, "max": 1}},
    {
        "rule": R.DATA_DIFF,
        "fields": ["qty"],
        "properties": {"ref_container_id": 2, "id_field_names": ["id"]},
        "reference": "gone",
    },
]


@pytest.fixture(scope="module")
def folder(engine: SparkEngine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shapes")
    g.write(engine.session, folder, CONTAINER, DATA)
    g.write(engine.session, folder, REF, REF_ROWS)
    return folder


@pytest.fixture(scope="module")
def scanned(
    engine: SparkEngine, folder: Path
) -> tuple[ScanResult, list[tuple[CheckSpec, bool, int | None]]]:
    expected = cases(folder)
    bad = []
    for i, spec in enumerate(BAD, start=len(expected) + 1):
        spec = dict(spec)
        if spec.get("reference") == "ref":
            spec["reference"] = _ref_spec(folder)
        elif spec.get("reference") == "gone":
            spec["reference"] = ReferenceSpec(datastore=g.files(folder), container="gone.parquet")
        bad.append(CheckSpec(id=i, container=CONTAINER, **spec))
    checks = [check for check, _, _ in expected] + bad
    ctx, _ = make_context(engine, "scan", g.files(folder), checks=checks)
    result = run_operation(ctx)
    assert isinstance(result, ScanResult)
    return result, expected


def _outcome(result: ScanResult, check_id: int) -> CheckOutcome:
    return next(o for o in result.outcomes if o.check_id == check_id)


def test_every_shape_and_cross_container_rule_has_a_case(folder: Path) -> None:
    covered = {check.rule for check, _, _ in cases(folder)}
    others = {
        rule
        for rule, contract in CONTRACTS.items()
        if contract.anomaly_type == "shape" or contract.cross_container
    }
    assert others <= covered


def test_each_shape_rule_judges_as_computed(scanned: Any) -> None:
    result, expected = scanned
    for check, passes, failed in expected:
        outcome = _outcome(result, check.id)
        where = f"check {check.id} {check.rule.value}: {outcome}"
        assert outcome.error is None, where
        assert outcome.passed is passes, where
        if failed is not None:
            assert outcome.failed_records == failed, where
        findings = [f for f in result.anomalies if f.check_id == check.id]
        assert len(findings) == (0 if passes else 1), where
        for finding in findings:
            assert finding.type == CONTRACTS[check.rule].anomaly_type
            assert finding.failed_records == outcome.failed_records
            assert len(finding.sample_rows) <= SAMPLE_ROWS_PER_ANOMALY
            if finding.type == "record" and finding.failed_records:
                assert finding.sample_rows, where


def test_figures_measured_for_the_history(scanned: Any) -> None:
    result, expected = scanned
    by_rule: dict[RuleType, CheckOutcome] = {}
    for check, _, _ in expected:
        by_rule.setdefault(check.rule, _outcome(result, check.id))
    assert by_rule[R.VOLUMETRIC].value == g.ROWS
    assert by_rule[R.SUM].value == QTY_SUM
    assert by_rule[R.DISTINCT_COUNT].value == len(STATUSES)
    assert by_rule[R.METRIC].value == QTY_SUM
    newest = dt.datetime(NEWEST_DAY.year, NEWEST_DAY.month, NEWEST_DAY.day, tzinfo=dt.UTC)
    age_ms = (dt.datetime.now(dt.UTC) - newest).total_seconds() * 1000
    assert by_rule[R.FRESHNESS].value == pytest.approx(age_ms, abs=120_000)


def test_messages_name_the_figures(scanned: Any) -> None:
    result, expected = scanned
    messages = {f.check_id: f.message for f in result.anomalies}
    ids: dict[RuleType, int] = {}
    for check, passes, _ in expected:
        if not passes:
            ids.setdefault(check.rule, check.id)
    assert (
        "lacks 2 of the 3 required values: 'archived', 'Active'" in messages[ids[R.REQUIRED_VALUES]]
    )
    assert f"holds {len(STATUSES)} distinct values" in messages[ids[R.DISTINCT_COUNT]]
    assert "unexpected" in messages[ids[R.EXPECTED_SCHEMA]]
    diff = next(f for f in result.anomalies if f.rule == R.DATA_DIFF)
    assert {row["_diff"] for row in diff.sample_rows} <= {
        "only in target",
        "only in reference",
        "changed",
    }


def test_unjudgeable_checks_are_reported_and_the_others_judged(scanned: Any) -> None:
    result, expected = scanned
    first_bad = len(expected) + 1
    errors = {o.check_id: o.error for o in result.outcomes if o.check_id >= first_bad}
    assert set(errors) == set(range(first_bad, first_bad + len(BAD)))
    assert all(errors.values()), errors
    texts = [errors[first_bad + i] or "" for i in range(len(BAD))]
    assert "is not valid Spark SQL" in texts[0]
    assert "is not valid Spark SQL" in texts[1]
    assert "not a true/false condition" in texts[2]
    assert "CAST" in texts[3].upper()
    assert "sum needs numbers" in texts[4]
    assert "names no reference container" in texts[5]
    assert "has no field 'nope'" in texts[6]
    assert "greater than max" in texts[7]
    assert "no container 'gone.parquet'" in texts[8]
    for check_id in errors:
        (finding,) = [f for f in result.anomalies if f.check_id == check_id]
        assert finding.type == "shape"
        assert finding.message.startswith(f"check {check_id} could not be evaluated: ")


def test_times_are_instants_whatever_the_session_time_zone(engine: SparkEngine) -> None:
    """Naive timestamps are UTC, dates their midnight UTC, text with an offset honoured,
    also when the session's time zone is not UTC."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DateType, StringType, StructField, StructType, TimestampNTZType

    from dqplatform.dataplane.operations.rules.base import instant

    spark = engine.session
    schema = StructType(
        [
            StructField("naive", TimestampNTZType()),
            StructField("day", DateType()),
            StructField("text", StringType()),
        ]
    )
    df = spark.createDataFrame(
        [(dt.datetime(2024, 3, 1, 12, 0), dt.date(2024, 3, 1), "2024-03-01T14:00:00+02:00")],
        schema,
    )
    expected = {
        "naive": dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC),
        "day": dt.datetime(2024, 3, 1, tzinfo=dt.UTC),
        "text": dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC),
    }
    previous = spark.conf.get("spark.sql.session.timeZone")
    try:
        for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
            spark.conf.set("spark.sql.session.timeZone", zone)
            row = df.select(
                *[
                    F.unix_micros(instant(f.name, F.col(f.name), f.dataType, zone)).alias(f.name)
                    for f in schema.fields
                ]
            ).first()
            assert row is not None
            for name, moment in expected.items():
                assert row[name] == int(moment.timestamp()) * 1_000_000, (zone, name)
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous or "UTC")
