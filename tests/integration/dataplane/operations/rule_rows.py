"""Generated rows for the rule tests, with violations planted by design, and what each
rule must find computed here in plain Python (never by Spark)."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import (
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from dqplatform.messaging.operations import DatastoreSpec

ROWS = 400
UTC = dt.UTC
NOW = dt.datetime.now(UTC)

SCHEMA = StructType(
    [
        StructField("id", IntegerType()),
        StructField("name", StringType()),
        StructField("code", StringType()),
        StructField("status", StringType()),
        StructField("amount", DoubleType()),
        StructField("price", DecimalType(10, 2)),
        StructField("qty", IntegerType()),
        StructField("low", IntegerType()),
        StructField("high", IntegerType()),
        StructField("const", IntegerType()),
        StructField("ts", TimestampType()),
        StructField("ts_text", StringType()),
        StructField("day", DateType()),
        StructField("num_text", StringType()),
        StructField("email_text", StringType()),
        StructField("url_text", StringType()),
        StructField("card", StringType()),
        StructField("card_text", StringType()),
        StructField("ssn_text", StringType()),
        StructField("address", StringType()),
        StructField("company", StringType()),
        StructField("company_id", IntegerType()),
    ]
)

# (value, is a violation) for the content rules; None rows pass every one of them.
EMAILS = [
    ("a.b@example.com", False),
    ("Contact: John.Doe@Mail.Example.CO.uk today", False),
    ("not-an-email", True),
    ("a@b", True),
    ("@example.com", True),
    ("", True),
]
URLS = [
    ("https://example.com/x?y=1", False),
    ("see www.example.org now", False),
    ("FTP://files.example.com/a", False),
    ("example dot com", True),
    ("http:/broken", True),
    ("", True),
]
CARDS = [  # isCreditCard: the whole value is a valid number
    ("4111 1111 1111 1111", False),
    ("5500-0000-0000-0004", False),
    ("378282246310005", False),
    ("6011111111111117", False),
    ("4111 1111 1111 1112", True),  # Luhn fails
    ("1234", True),
    ("", True),
    ("abcd efgh ijkl mnop", True),
    ("41111111111111111111111", True),  # too long
    ("card 4111111111111111", True),  # more than the number
]
CARD_TEXTS = [  # containsCreditCard
    ("card 4111111111111111 on file", False),
    ("paid with 5500 0000 0000 0004.", False),
    ("no card here", True),
    ("call 555-1234", True),
    ("4111111111111112", True),
    ("", True),
]
SSNS = [
    ("123-45-6789", False),
    ("ssn: 078-05-1120 ok", False),
    ("000-12-3456", True),
    ("666-12-3456", True),
    ("123-00-4567", True),
    ("123456789", True),
    ("", True),
]
ADDRESSES = [
    ("12 Main Street, Springfield, IL 62704", False),
    ("221B Baker St, London NW1 6XE, UK", False),
    ("1600 Pennsylvania Avenue NW, Washington, DC 20500", False),
    ("Main Street", True),
    ("Springfield", True),
    ("PO Box 12", True),
    ("", True),
]
NUM_TEXTS = ["12", " 7 ", "-3", "1.5", "abc", "", "1e3", "NaN", None]
AMOUNT_PLANTS = [None, math.nan, -5.0, 0.0, 100.0, 100.0000001, 1e308, -1e-300, 5e-324]
STATUSES = ["active", "inactive"]
STATUS_PLANTS = ["ACTIVE", "Active ", None, "deleted"]
# Entities, their spellings, and the ids they are given.
ENTITIES = {
    "acme": (["Acme Corp", "ACME corp.", "acme-corp"], [1, 1, 2]),  # conflicting ids
    "globex": (["Globex", "GLOBEX!", "globex"], [3, 3, 3]),
    "initech": (["Initech", "initech"], [4, 5]),  # conflicting
    "smith": (["Smith"], [6]),
    "smyth": (["Smyth"], [7]),  # sounds like Smith, another id
    "umbrella": (["Umbrella"], [8]),
}
TEXT_OFFSETS = ["+00:00", "+02:00", "-01:00", "+05:30", "Z"]


def _pick(rng: random.Random, options: list[tuple[str, bool]], i: int) -> str | None:
    if i % 17 == 0:
        return None
    return rng.choice(options)[0]


def rows() -> list[dict[str, Any]]:
    rng = random.Random(15)
    out = []
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    entity_cells = [
        (spelling, ident)
        for spellings, ids in ENTITIES.values()
        for spelling, ident in zip(spellings, ids, strict=True)
    ]
    for i in range(ROWS):
        amount: float | None = round(rng.uniform(0.5, 99.5), 3)
        if i < len(AMOUNT_PLANTS):
            amount = AMOUNT_PLANTS[i]
        status = rng.choice(STATUSES) if i % 23 else STATUS_PLANTS[(i // 23) % 4]
        if i in (57, 114):  # name is null there too: anyNotNull fails
            status = None
        low = rng.randint(0, 20) if i % 29 else None
        high = rng.randint(0, 30) if i % 31 else None
        ts: dt.datetime | None = base + dt.timedelta(hours=rng.randint(0, 24 * 200))
        if i % 41 == 0:
            ts = NOW + dt.timedelta(days=10)
        elif i % 43 == 0:
            ts = None
        text_moment = base + dt.timedelta(minutes=rng.randint(0, 60 * 24 * 120))
        offset = rng.choice(TEXT_OFFSETS)
        ts_text: str | None = (
            text_moment.replace(tzinfo=None).isoformat() + offset if i % 37 else "not a time"
        )
        if i % 53 == 0:
            ts_text = None
        company, company_id = entity_cells[i % len(entity_cells)]
        name_choices = ["", "Zoë", "ñandú", "Al", "x" * 12, "MixedCase"]
        out.append(
            {
                "id": i,
                "name": None if i % 19 == 0 else rng.choice([*name_choices, "name" + str(i)]),
                "code": None if i % 47 == 0 else ("ab-123" if i % 61 == 0 else f"AB-{i % 350:03d}"),
                "status": status,
                "amount": amount,
                "price": Decimal(rng.randint(0, 99_999)).scaleb(-2) if i % 13 else None,
                "qty": rng.randint(0, 50) if i % 11 else None,
                "low": low,
                "high": high,
                "const": 1 if i % 27 else (None if i % 2 else 2),
                "ts": ts,
                "ts_text": ts_text,
                "day": (base + dt.timedelta(days=rng.randint(0, 120))).date() if i % 7 else None,
                "num_text": NUM_TEXTS[i % len(NUM_TEXTS)],
                "email_text": _pick(rng, EMAILS, i),
                "url_text": _pick(rng, URLS, i),
                "card": _pick(rng, CARDS, i),
                "card_text": _pick(rng, CARD_TEXTS, i),
                "ssn_text": _pick(rng, SSNS, i),
                "address": _pick(rng, ADDRESSES, i),
                "company": company,
                "company_id": company_id,
            }
        )
    return out


def write(spark: SparkSession, folder: Path, name: str, data: list[dict[str, Any]]) -> None:
    spark.createDataFrame(
        [tuple(row[f.name] for f in SCHEMA.fields) for row in data], SCHEMA
    ).coalesce(1).write.parquet(str(folder / name))


def files(folder: Path) -> DatastoreSpec:
    return DatastoreSpec(kind="files", path=str(folder))


# --- independent expectations ---------------------------------------------------------


def count(data: list[dict[str, Any]], fails: Callable[[dict[str, Any]], bool]) -> int:
    return sum(1 for row in data if fails(row))


def ids(data: list[dict[str, Any]], fails: Callable[[dict[str, Any]], bool]) -> set[int]:
    return {row["id"] for row in data if fails(row)}


def bad_number(value: float | None, test: Callable[[float], bool]) -> bool:
    return value is not None and (math.isnan(value) or test(value))


def violation(options: list[tuple[str, bool]], value: str | None) -> bool:
    return value is not None and dict(options)[value]


def duplicated(data: list[dict[str, Any]], fields: list[str]) -> set[int]:
    keys = Counter(
        tuple(row[f] for f in fields) for row in data if all(row[f] is not None for f in fields)
    )
    return {
        row["id"]
        for row in data
        if all(row[f] is not None for f in fields) and keys[tuple(row[f] for f in fields)] > 1
    }


def conflicting_entities(data: list[dict[str, Any]], key: Callable[[str], str]) -> set[int]:
    values: dict[str, set[int]] = defaultdict(set)
    for row in data:
        values[key(row["company"])].add(row["company_id"])
    return {row["id"] for row in data if len(values[key(row["company"])]) > 1}


def normalised(name: str) -> str:
    return "".join(c for c in name.lower() if c.isascii() and c.isalnum())


def text_instant(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
