"""Spark values made safe for results: column references, JSON-safe rows, text of a value."""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pyspark.sql import Column, Row
from pyspark.sql import functions as F


def column(name: str) -> Column:
    """A reference to the field `name`, whatever characters it holds (dots, spaces, ...)."""
    return F.col("`" + name.replace("`", "``") + "`")


def json_safe(value: Any) -> Any:
    """`value` as JSON can carry it: dates and decimals become strings, rows become dicts."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinity; their text keeps them visible instead of lost.
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Row):
        return {key: json_safe(item) for key, item in value.asDict(recursive=False).items()}
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return text_of(value)


def text_of(value: Any) -> str | None:
    """The text a profile shows for a minimum or maximum."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def row_dict(row: Row) -> dict[str, Any]:
    """A sample row as a JSON-safe dict of field name to value."""
    return {key: json_safe(value) for key, value in zip(row.__fields__, row, strict=True)}
