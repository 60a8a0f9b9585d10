"""The generated data every operation test reads, its planted anomalies, and the figures
expected of it, computed here in plain Python (never by Spark)."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dqplatform.messaging.operations import CheckSpec
from dqplatform.messaging.rules import RuleType

CUSTOMER_COLUMNS = ("id", "email", "code", "age", "score", "status", "signup")
ORDER_COLUMNS = ("id", "customer_id", "amount")
VIEW_COLUMNS = ("id", "email")
CUSTOMERS = 300
ORDERS = 57

# The anomalies planted in customers, by row id.
NULL_EMAILS = {5, 17, 42}
BAD_EMAILS = {50: "not-an-email", 51: "x@other.org"}
DUPLICATE_CODES = {10: "DUP-1", 11: "DUP-1", 20: "DUP-2", 21: "DUP-2", 22: "DUP-2"}
NULL_CODES = {30, 31}  # two nulls: no duplicate
BAD_AGES = {7: 5, 8: 130}
NULL_AGES = {9}  # a null passes a between check
BAD_STATUSES = {60: "deleted", 61: "ACTIVE"}
NULL_SCORES = {70}
STATUSES = ("active", "inactive", "pending")
EMAIL_PATTERN = r"^[a-z0-9.]+@example\.com$"


def customers() -> list[dict[str, Any]]:
    rng = random.Random(20240601)
    rows = []
    for i in range(1, CUSTOMERS + 1):
        rows.append(
            {
                "id": i,
                "email": f"user{i}@example.com",
                "code": f"C{i:05d}",
                "age": rng.randint(18, 99),
                "score": Decimal(rng.randint(0, 99_999)).scaleb(-2),
                "status": rng.choice(STATUSES),
                "signup": date(2024, 1, 1) + timedelta(days=rng.randint(0, 365)),
            }
        )
    by_id = {row["id"]: row for row in rows}
    for i in NULL_EMAILS:
        by_id[i]["email"] = None
    for i, email in BAD_EMAILS.items():
        by_id[i]["email"] = email
    for i, code in DUPLICATE_CODES.items():
        by_id[i]["code"] = code
    for i in NULL_CODES:
        by_id[i]["code"] = None
    for i, age in BAD_AGES.items():
        by_id[i]["age"] = age
    for i in NULL_AGES:
        by_id[i]["age"] = None
    for i, status in BAD_STATUSES.items():
        by_id[i]["status"] = status
    for i in NULL_SCORES:
        by_id[i]["score"] = None
    return rows


def orders() -> list[dict[str, Any]]:
    rng = random.Random(99)
    return [
        {
            "id": i,
            "customer_id": rng.randint(1, CUSTOMERS),
            "amount": Decimal(rng.randint(100, 500_000)).scaleb(-2),
        }
        for i in range(1, ORDERS + 1)
    ]


def senior_customers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The view the database tests create: WHERE age >= 60 (numbers: no collation involved)."""
    return [
        {"id": r["id"], "email": r["email"]}
        for r in rows
        if r["age"] is not None and r["age"] >= 60
    ]


# --- checks and what a scan must find ------------------------------------------------------


def checks(customers_name: str, orders_name: str) -> list[CheckSpec]:
    c, o = customers_name, orders_name
    return [
        CheckSpec(id=1, container=c, fields=["email"], rule=RuleType.NOT_NULL),
        CheckSpec(id=2, container=c, fields=["code"], rule=RuleType.UNIQUE),
        CheckSpec(
            id=3,
            container=c,
            fields=["age"],
            rule=RuleType.BETWEEN,
            properties={"min": 18, "max": 99},
        ),
        CheckSpec(
            id=4,
            container=c,
            fields=["email"],
            rule=RuleType.MATCHES_PATTERN,
            properties={"pattern": EMAIL_PATTERN},
        ),
        CheckSpec(
            id=5,
            container=c,
            fields=["status"],
            rule=RuleType.EXPECTED_VALUES,
            properties={"list": list(STATUSES)},
        ),
        # These pass on the generated data.
        CheckSpec(id=6, container=c, fields=["id"], rule=RuleType.NOT_NULL),
        CheckSpec(id=7, container=c, fields=["id"], rule=RuleType.UNIQUE),
        CheckSpec(
            id=8,
            container=c,
            fields=["score"],
            rule=RuleType.BETWEEN,
            properties={"min": 0, "max": 1000},
        ),
        CheckSpec(
            id=9,
            container=c,
            fields=["code"],
            rule=RuleType.MATCHES_PATTERN,
            properties={"pattern": r"^(C\d{5}|DUP-\d)$"},
        ),
        CheckSpec(
            id=10,
            container=o,
            fields=["amount"],
            rule=RuleType.BETWEEN,
            properties={"min": "1.00", "max": 5000},
        ),
        CheckSpec(id=11, container=o, fields=["id"], rule=RuleType.UNIQUE),
        # A field the container does not have: reported, not skipped.
        CheckSpec(id=12, container=c, fields=["phone"], rule=RuleType.NOT_NULL),
    ]


@dataclass(frozen=True)
class Expected:
    failed_records: int
    ids: frozenset[int]  # the ids of the failing rows (all fit in the samples)
    message: str


EXPECTED_ANOMALIES = {
    1: Expected(3, frozenset(NULL_EMAILS), f"email: 3 of {CUSTOMERS} records have a null value"),
    2: Expected(
        5,
        frozenset(DUPLICATE_CODES),
        f"code: 5 of {CUSTOMERS} records share their value of code with another record",
    ),
    3: Expected(
        2, frozenset(BAD_AGES), f"age: 2 of {CUSTOMERS} records have a value outside [18, 99]"
    ),
    4: Expected(
        2,
        frozenset(BAD_EMAILS),
        f"email: 2 of {CUSTOMERS} records do not match the pattern {EMAIL_PATTERN!r}",
    ),
    5: Expected(
        2,
        frozenset(BAD_STATUSES),
        f"status: 2 of {CUSTOMERS} records have a value not among the 3 expected values",
    ),
}
NOT_EVALUABLE = {12: "check 12 could not be evaluated: field 'phone' does not exist in"}


# --- profiles ------------------------------------------------------------------------------


def text(value: Any) -> str:
    """How a profile shows a minimum or maximum of the values generated here."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class ExpectedProfile:
    record_count: int
    nulls: int
    distinct: int
    min: str | None
    max: str | None
    mean: float | None


def expected_profiles(
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    numeric: Sequence[str],
    as_read: Callable[[str, Any], Any] = lambda column, value: value,
) -> dict[str, ExpectedProfile]:
    """Per column, the figures a profile must report; `as_read` turns a generated value into
    the value the source holds (a CSV's decimals are read back as doubles, say)."""
    result = {}
    for column in columns:
        values = [as_read(column, row[column]) for row in rows if row[column] is not None]
        result[column] = ExpectedProfile(
            record_count=len(rows),
            nulls=len(rows) - len(values),
            distinct=len(set(values)),
            min=text(min(values)) if values else None,
            max=text(max(values)) if values else None,
            mean=float(statistics.fmean(float(v) for v in values))
            if column in numeric and values
            else None,
        )
    return result
