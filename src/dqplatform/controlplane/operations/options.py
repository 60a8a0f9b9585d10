"""The run options the public qualytics-cli sends: bounded, recorded, and named when unused.

Only `prune` (catalog: see the dispatcher) and `auto_resolve_passed_anomalies` (scan: see
controlplane/results.py) change what an operation does here; the others are
recorded with the operation so that the client's requests validate, and a successful
operation that had any of them set away from its neutral value says so in its message,
which qualytics-cli prints as a warning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

MAX_INT = 2**31 - 1
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255)]
IncludeType = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# The client's own names for the levels; it turns the older 0-5 into these before sending.
AiEffort = Literal["off", "low", "medium", "high", "xhigh", "max"]


def _iso_datetime(value: str) -> str:
    # Kept as the client's text (it is only recorded), but it must be a date and time.
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date and time") from None
    return value


class ClientOptions(BaseModel):
    """Options of qualytics-cli's sync, profile and scan (all optional)."""

    include: list[IncludeType] | None = Field(
        default=None, max_length=10, description="sync: container types to include (ignored)."
    )
    prune: bool | None = Field(
        default=None,
        description="sync: remove the containers the catalog no longer finds; "
        "true when absent, as a catalog always did here.",
    )
    recreate: bool | None = Field(default=None, description="sync (ignored).")
    incremental: bool | None = Field(default=None, description="scan (ignored).")
    container_tags: list[Tag] | None = Field(
        default=None, max_length=100, description="Ignored: containers have no tags here."
    )
    ai_effort: AiEffort | None = Field(default=None, description="profile (ignored).")
    infer_as_draft: bool | None = Field(default=None, description="profile (ignored).")
    max_records_analyzed_per_partition: int | None = Field(
        default=None, ge=-1, le=MAX_INT, description="-1 for all records (ignored)."
    )
    max_count_testing_sample: int | None = Field(
        default=None, ge=0, le=100_000, description="profile (ignored)."
    )
    percent_testing_threshold: Fraction | None = Field(
        default=None, description="profile (ignored)."
    )
    high_correlation_threshold: Fraction | None = Field(
        default=None, description="profile (ignored)."
    )
    greater_than_time: (
        Annotated[str, StringConstraints(max_length=64), AfterValidator(_iso_datetime)] | None
    ) = Field(default=None, description="profile, scan (ignored).")
    greater_than_batch: float | None = Field(
        default=None, allow_inf_nan=False, description="profile, scan (ignored)."
    )
    histogram_max_distinct_values: int | None = Field(
        default=None, ge=1, le=MAX_INT, description="profile (ignored)."
    )
    auto_resolve_passed_anomalies: bool | None = Field(
        default=None,
        description="scan: resolve the open anomalies of checks the scan judged and found "
        "passing; true when absent (see docs/anomalies.md).",
    )
    enrichment_source_record_limit: int | None = Field(
        default=None, ge=1, le=MAX_INT, description="scan (ignored)."
    )

    def recorded_options(self) -> dict[str, Any]:
        """The options that were given, as stored with the operation."""
        return {
            name: value
            for name in ClientOptions.model_fields
            if (value := getattr(self, name)) is not None
        }


APPLIED = frozenset({"prune", "auto_resolve_passed_anomalies"})
# Values that ask for what this platform does anyway; qualytics-cli sends some of them always.
NEUTRAL: dict[str, object] = {
    "recreate": False,
    "incremental": False,
    "infer_as_draft": False,
    "ai_effort": "off",
    "max_records_analyzed_per_partition": -1,
    "include": [],
    "container_tags": [],
}


def not_applied(options: dict[str, Any]) -> list[str]:
    """The recorded options that asked for something this platform did not do."""
    return [
        name
        for name, value in options.items()
        if name not in APPLIED and name in ClientOptions.model_fields and value != NEUTRAL.get(name)
    ]


def not_applied_note(options: dict[str, Any]) -> str | None:
    names = not_applied(options)
    if not names:
        return None
    return f"options not supported by this platform were not applied: {', '.join(names)}"
