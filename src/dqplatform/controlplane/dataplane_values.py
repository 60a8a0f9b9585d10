"""Values reported by the dataplane, made storable and serialisable on every database.

Data can hold what PostgreSQL text columns refuse (NUL characters) and what JSON cannot
carry (NaN and infinities); both are replaced here rather than failing the whole result.
"""

from __future__ import annotations

import math
from typing import Any

# Longest text kept from the data itself (a profile's min or max): a bound on row size.
MAX_DATA_TEXT = 4096


def clean_text(value: str, limit: int | None = None) -> str:
    """The string without NUL characters, cut to `limit` characters if given."""
    text = value.replace("\x00", "")
    return text if limit is None else text[:limit]


def clean_float(value: float | None) -> float | None:
    """None for NaN and the infinities, which JSON responses cannot carry."""
    return value if value is not None and math.isfinite(value) else None


def clean_json(value: Any) -> Any:
    """A JSON value storable on both databases: NUL removed, non-finite floats as text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value
