"""Every per-record rule on planted violations: one scan judges them all in one pass, and
each finding's failed count is the one computed in plain Python over the same rows."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.dispatch import run_operation
from dqplatform.messaging.operations import SAMPLE_ROWS_PER_ANOMALY, CheckSpec, ScanResult
from dqplatform.messaging.rules import CONTRACTS, RuleType
from tests.integration.dataplane.operations import rule_rows as g
from tests.integration.dataplane.operations.conftest import make_context

R = RuleType
DATA = g.rows()
CONTAINER = "t.parquet"
Row = dict[str, Any]


@dataclass(frozen=True)
class Case:
    rule: RuleType
    fields: list[str]
    properties: dict[str, Any]
    fails: Callable[[Row], bool]  # the failing records, in plain Python
    filter: str | None = None
    judged: Callable[[Row], bool] = lambda row: True  # the filter, in plain Python
    coverage: float | None = None


def _num(field: str, test: Callable[[float], bool]) -> Callable[[Row], bool]:
    return lambda row: g.bad_number(row[field], test)


AFTER = dt.datetime(2024, 3, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
BEFORE = dt.datetime(2024, 6, 1)  # naive: UTC
T0, T1 = dt.datetime(2024, 2, 1, tzinfo=dt.UTC), dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
ENTITY_IDS_EXACT = g.conflicting_entities(DATA, g.normalised)
SOUNDS = {
    "acmecorp": "A256",
    "globex": "G412",
    "initech": "I532",
    "smith": "S530",
    "smyth": "S530",
    "umbrella": "U516",
}
ENTITY_IDS_SOUND = g.conflicting_entities(DATA, lambda name: SOUNDS[g.normalised(name)])


def _day_instant(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


CASES: list[Case] = [
    Case(R.NOT_NULL, ["name"], {}, lambda r: r["name"] is None),
    Case(R.NOT_NULL, ["name", "status"], {}, lambda r: r["name"] is None or r["status"] is None),
    Case(
        R.ANY_NOT_NULL, ["name", "status"], {}, lambda r: r["name"] is None and r["status"] is None
    ),
    Case(R.BETWEEN, ["amount"], {"min": 0, "max": 100}, _num("amount", lambda v: v < 0 or v > 100)),
    Case(
        R.BETWEEN,
        ["amount"],
        {"min": 0, "max": 100, "inclusive_min": False, "inclusive_max": False},
        _num("amount", lambda v: v <= 0 or v >= 100),
    ),
    Case(R.GREATER_THAN, ["amount"], {"value": 0}, _num("amount", lambda v: v <= 0)),
    Case(
        R.GREATER_THAN, ["amount"], {"value": 0, "inclusive": True}, _num("amount", lambda v: v < 0)
    ),
    Case(
        R.LESS_THAN,
        ["amount"],
        {"value": 100, "inclusive": True},
        _num("amount", lambda v: v > 100),
    ),
    Case(
        R.LESS_THAN,
        ["price"],
        {"value": 500},
        lambda r: r["price"] is not None and r["price"] >= 500,
    ),
    Case(R.MIN_VALUE, ["amount"], {"value": 0}, _num("amount", lambda v: v < 0)),
    Case(R.MAX_VALUE, ["amount"], {"value": 100}, _num("amount", lambda v: v > 100)),
    Case(R.NOT_NEGATIVE, ["amount"], {}, _num("amount", lambda v: v < 0)),
    Case(R.POSITIVE, ["amount"], {}, _num("amount", lambda v: v <= 0)),
    Case(
        R.MIN_LENGTH, ["name"], {"value": 3}, lambda r: r["name"] is not None and len(r["name"]) < 3
    ),
    Case(
        R.MAX_LENGTH, ["name"], {"value": 5}, lambda r: r["name"] is not None and len(r["name"]) > 5
    ),
    Case(
        R.MATCHES_PATTERN,
        ["code"],
        {"pattern": r"^[A-Z]{2}-\d{3}$"},
        lambda r: (
            r["code"] is not None and not (r["code"].startswith("AB-") and len(r["code"]) == 6)
        ),
    ),
    Case(
        R.EXPECTED_VALUES,
        ["status"],
        {"list": g.STATUSES},
        lambda r: r["status"] is not None and r["status"] not in g.STATUSES,
    ),
    # Typed: the client's text "1", "2.0" matches the numbers 1 and 2.
    Case(
        R.EXPECTED_VALUES,
        ["qty"],
        {"list": ["1", "2.0", "3"]},
        lambda r: r["qty"] is not None and r["qty"] not in (1, 2, 3),
    ),
    Case(R.EQUAL_TO, ["const"], {"value": 1}, lambda r: r["const"] is not None and r["const"] != 1),
    Case(
        R.EQUAL_TO, ["status"], {"value": "active"}, lambda r: r["status"] not in (None, "active")
    ),
    Case(
        R.SATISFIES_EXPRESSION,
        [],
        {"expression": "low <= high"},
        lambda r: r["low"] is not None and r["high"] is not None and r["low"] > r["high"],
    ),
    Case(
        R.GREATER_THAN_FIELD,
        ["high"],
        {"field_name": "low"},
        lambda r: r["low"] is not None and r["high"] is not None and r["high"] <= r["low"],
    ),
    Case(
        R.LESS_THAN_FIELD,
        ["low"],
        {"field_name": "high", "inclusive": True},
        lambda r: r["low"] is not None and r["high"] is not None and r["low"] > r["high"],
    ),
    Case(
        R.EQUAL_TO_FIELD,
        ["low"],
        {"field_name": "high"},
        lambda r: r["low"] is not None and r["high"] is not None and r["low"] != r["high"],
    ),
    Case(R.UNIQUE, ["code"], {}, lambda r: r["id"] in g.duplicated(DATA, ["code"])),
    Case(
        R.UNIQUE, ["status", "qty"], {}, lambda r: r["id"] in g.duplicated(DATA, ["status", "qty"])
    ),
    Case(
        R.IS_TYPE,
        ["num_text"],
        {"field_type": "Integral"},
        lambda r: r["num_text"] is not None and r["num_text"].strip() not in ("12", "7", "-3"),
    ),
    Case(
        R.IS_TYPE,
        ["num_text"],
        {"field_type": "Fractional"},
        lambda r: r["num_text"] in ("abc", ""),
    ),
    Case(R.IS_TYPE, ["amount"], {"field_type": "Fractional"}, lambda r: False),
    Case(R.IS_TYPE, ["qty"], {"field_type": "Date"}, lambda r: r["qty"] is not None),
    Case(R.NOT_FUTURE, ["ts"], {}, lambda r: r["ts"] is not None and r["ts"] > g.NOW),
    Case(
        R.AFTER_DATE_TIME,
        ["ts_text"],
        {"datetime": AFTER.isoformat()},
        lambda r: (
            r["ts_text"] is not None and ((m := g.text_instant(r["ts_text"])) is None or m <= AFTER)
        ),
    ),
    Case(
        R.BEFORE_DATE_TIME,
        ["ts"],
        {"datetime": BEFORE.isoformat()},
        lambda r: r["ts"] is not None and r["ts"] >= BEFORE.replace(tzinfo=dt.UTC),
    ),
    Case(
        R.BETWEEN_TIMES,
        ["day"],
        {"min_time": T0.isoformat(), "max_time": T1.isoformat()},
        lambda r: r["day"] is not None and not (T0 <= _day_instant(r["day"]) <= T1),
    ),
    Case(R.CONTAINS_EMAIL, ["email_text"], {}, lambda r: g.violation(g.EMAILS, r["email_text"])),
    Case(R.CONTAINS_URL, ["url_text"], {}, lambda r: g.violation(g.URLS, r["url_text"])),
    Case(R.IS_CREDIT_CARD, ["card"], {}, lambda r: g.violation(g.CARDS, r["card"])),
    Case(
        R.CONTAINS_CREDIT_CARD,
        ["card_text"],
        {},
        lambda r: g.violation(g.CARD_TEXTS, r["card_text"]),
    ),
    Case(
        R.CONTAINS_SOCIAL_SECURITY_NUMBER,
        ["ssn_text"],
        {},
        lambda r: g.violation(g.SSNS, r["ssn_text"]),
    ),
    Case(R.IS_ADDRESS, ["address"], {}, lambda r: g.violation(g.ADDRESSES, r["address"])),
    Case(
        R.ENTITY_RESOLUTION,
        ["company"],
        {"distinction_field_name": "company_id", "pair_homophones": False},
        lambda r: r["id"] in ENTITY_IDS_EXACT,
    ),
    Case(
        R.ENTITY_RESOLUTION,
        ["company"],
        {"distinction_field_name": "company_id"},
        lambda r: r["id"] in ENTITY_IDS_SOUND,
    ),
    # Filters: only the matching records are judged.
    Case(
        R.BETWEEN,
        ["amount"],
        {"min": 0, "max": 100},
        _num("amount", lambda v: v < 0 or v > 100),
        filter="id < 5 OR qty >= 25",
        judged=lambda r: r["id"] < 5 or (r["qty"] is not None and r["qty"] >= 25),
    ),
    Case(
        R.UNIQUE,
        ["status"],
        {},
        lambda r: r["id"] in g.duplicated([x for x in DATA if x["id"] % 50 == 0], ["status"]),
        filter="id % 50 = 0",
        judged=lambda r: r["id"] % 50 == 0,
    ),
    Case(
        R.CONTAINS_EMAIL,
        ["email_text"],
        {},
        lambda r: g.violation(g.EMAILS, r["email_text"]),
        filter="qty > 40",
        judged=lambda r: r["qty"] is not None and r["qty"] > 40,
    ),
    Case(
        R.NOT_FUTURE,
        ["ts"],
        {},
        lambda r: r["ts"] is not None and r["ts"] > g.NOW,
        filter="id >= 100",
        judged=lambda r: r["id"] >= 100,
    ),
    # Coverage: a few failures within what is allowed pass; beyond it, the check fails.
    Case(R.NOT_NULL, ["name"], {}, lambda r: r["name"] is None, coverage=0.9),
    Case(R.NOT_NULL, ["name"], {}, lambda r: r["name"] is None, coverage=0.99),
    Case(R.UNIQUE, ["code"], {}, lambda r: r["id"] in g.duplicated(DATA, ["code"]), coverage=0.5),
    Case(R.IS_CREDIT_CARD, ["card"], {}, lambda r: g.violation(g.CARDS, r["card"]), coverage=0.1),
    Case(
        R.NOT_FUTURE, ["ts"], {}, lambda r: r["ts"] is not None and r["ts"] > g.NOW, coverage=0.999
    ),
]


def _check(index: int, case: Case) -> CheckSpec:
    return CheckSpec(
        id=index + 1,
        container=CONTAINER,
        rule=case.rule,
        fields=case.fields,
        properties=case.properties,
        filter=case.filter,
        coverage=case.coverage,
    )


@pytest.fixture(scope="module")
def result(engine: SparkEngine, tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    folder = tmp_path_factory.mktemp("rules")
    g.write(engine.session, folder, CONTAINER, DATA)
    checks = [_check(i, case) for i, case in enumerate(CASES)]
    ctx, _ = make_context(engine, "scan", g.files(folder), checks=checks)
    outcome = run_operation(ctx)
    assert isinstance(outcome, ScanResult)
    return outcome


def test_every_record_rule_has_a_case() -> None:
    record_rules = {
        rule
        for rule, contract in CONTRACTS.items()
        if contract.anomaly_type == "record" and not contract.cross_container
    }
    assert record_rules <= {case.rule for case in CASES}


@pytest.mark.parametrize(
    "index", range(len(CASES)), ids=[f"{i + 1}-{c.rule.value}" for i, c in enumerate(CASES)]
)
def test_the_rule_finds_exactly_the_planted_records(result: ScanResult, index: int) -> None:
    case = CASES[index]
    judged = [row for row in DATA if case.judged(row)]
    failing = {row["id"] for row in judged if case.fails(row)}
    outcome = next(o for o in result.outcomes if o.check_id == index + 1)
    assert outcome.error is None, outcome.error
    assert outcome.records == len(judged)
    assert outcome.failed_records == len(failing)
    share = 1 - len(failing) / len(judged) if judged else 1.0
    should_pass = not failing or (case.coverage is not None and share >= case.coverage)
    assert outcome.passed is should_pass
    findings = [f for f in result.anomalies if f.check_id == index + 1]
    if should_pass:
        assert findings == []
        return
    (finding,) = findings
    assert finding.type == "record"
    assert finding.records == len(judged)
    assert finding.failed_records == len(failing)
    assert f"{len(failing)} of {len(judged)} records" in finding.message
    sampled = [row["id"] for row in finding.sample_rows]
    assert len(sampled) == min(len(failing), SAMPLE_ROWS_PER_ANOMALY)
    assert set(sampled) <= failing
    if case.coverage is not None:
        assert f"{case.coverage:.2%} required" in finding.message


def test_the_planted_cases_are_not_trivial() -> None:
    # Each case's data holds failures, except where a passing case is meant.
    passing = [c for c in CASES if not any(c.fails(r) and c.judged(r) for r in DATA)]
    assert [(c.rule, c.fields) for c in passing] == [(R.IS_TYPE, ["amount"])]
    assert any(math.isnan(r["amount"]) for r in DATA if r["amount"] is not None)
