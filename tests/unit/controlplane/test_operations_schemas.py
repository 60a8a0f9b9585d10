"""Validation of operation run requests (ours and qualytics-cli's) and of the list's dates."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from dqplatform.controlplane.operations.models import ENDED, OperationState
from dqplatform.controlplane.operations.options import not_applied, not_applied_note
from dqplatform.controlplane.operations.schemas import (
    DateBound,
    OperationRun,
    TypeFilter,
    lower_bound,
    upper_bound,
)
from dqplatform.messaging.operations import OperationResult, OperationType

# The bodies qualytics-cli 1.2.2 sends (services/operations.py, None values left out).
CLIENT_SYNC = {"datastore_id": 3, "type": "sync", "prune": False, "recreate": False}
CLIENT_SCAN = {"datastore_id": 3, "type": "scan", "incremental": False}
CLIENT_PROFILE_ALL_OPTIONS = {
    "datastore_id": 3,
    "type": "profile",
    "container_names": ["orders.csv"],
    "container_tags": ["finance"],
    "ai_effort": "high",
    "infer_as_draft": True,
    "max_records_analyzed_per_partition": -1,
    "max_count_testing_sample": 100_000,
    "percent_testing_threshold": 0.4,
    "high_correlation_threshold": 0.5,
    "greater_than_time": "2024-01-01T00:00:00.000Z",
    "greater_than_batch": 3.0,
    "histogram_max_distinct_values": 10,
}
CLIENT_SCAN_ALL_OPTIONS = {
    "datastore_id": 3,
    "type": "scan",
    "incremental": True,
    "auto_resolve_passed_anomalies": True,
    "max_records_analyzed_per_partition": 1000,
    "enrichment_source_record_limit": 5,
    "greater_than_time": "2024-01-01T00:00:00.000Z",
    "greater_than_batch": 2.0,
    "container_names": ["a.csv"],
    "container_tags": ["x"],
}


def _errors(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    # As FastAPI does: the body is parsed first (NaN and Infinity included), then validated.
    with pytest.raises(ValidationError) as caught:
        OperationRun.model_validate(json.loads(json.dumps(body)))
    return [tuple(error["loc"]) for error in caught.value.errors()]


@pytest.mark.parametrize(
    "body", [CLIENT_SYNC, CLIENT_SCAN, CLIENT_PROFILE_ALL_OPTIONS, CLIENT_SCAN_ALL_OPTIONS]
)
def test_the_client_bodies_validate_and_are_recorded(body: dict[str, Any]) -> None:
    run = OperationRun.model_validate_json(json.dumps(body))
    options = {
        k: v for k, v in body.items() if k not in ("type", "datastore_id", "container_names")
    }
    assert run.recorded_options() == options
    assert run.container_names == body.get("container_names")


def test_sync_is_a_catalog() -> None:
    assert OperationRun.model_validate(CLIENT_SYNC).type is OperationType.CATALOG
    assert OperationRun.model_validate_json(json.dumps(CLIENT_SYNC)).type is OperationType.CATALOG
    assert OperationRun.model_validate({"type": "profile", "datastore_id": 1}).type == "profile"
    assert (
        OperationRun.model_validate({"type": "catalog", "datastore_id": 1}).recorded_options() == {}
    )
    # The alias is documented as accepted, though never stored or answered.
    schema = OperationRun.model_json_schema()["properties"]["type"]
    assert schema["enum"] == ["catalog", "sync", "profile", "scan"]


def test_only_the_four_type_names_are_accepted() -> None:
    assert _errors({"type": "Sync", "datastore_id": 1})[0][0] == "type"
    assert _errors({"type": "synchronize", "datastore_id": 1})[0][0] == "type"


def test_the_list_filter_reads_sync_as_catalog_and_keeps_other_text() -> None:
    adapter = TypeAdapter(list[TypeFilter])
    assert adapter.validate_python(["sync", "scan", "other"]) == ["catalog", "scan", "other"]


def test_operation_types_and_results_are_the_wire_values() -> None:
    # Shared with the dataplane and the public client: the values must not change.
    assert [t.value for t in OperationType] == ["catalog", "profile", "scan"]
    assert [r.value for r in OperationResult] == ["success", "failure", "aborted"]
    assert [s.value for s in OperationState] == [
        "queued",
        "running",
        "success",
        "failure",
        "aborted",
    ]
    assert {OperationState(r) for r in OperationResult} == ENDED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("percent_testing_threshold", math.nan),
        ("percent_testing_threshold", 1.5),
        ("high_correlation_threshold", -0.1),
        ("high_correlation_threshold", math.inf),
        ("greater_than_batch", math.nan),
        ("greater_than_batch", -math.inf),
        ("max_records_analyzed_per_partition", -2),
        ("max_records_analyzed_per_partition", 2**31),
        ("max_count_testing_sample", 100_001),
        ("max_count_testing_sample", 10**30),
        ("histogram_max_distinct_values", 0),
        ("enrichment_source_record_limit", 0),
        ("ai_effort", "3"),
        ("ai_effort", "extreme"),
        ("greater_than_time", "yesterday"),
        ("greater_than_time", "2024-01-01T00:00:00" + "0" * 64),
        ("container_tags", ["x"] * 101),
        ("container_tags", [""]),
        ("include", ["t" * 33]),
        ("include", "table"),
        ("prune", "maybe"),
    ],
)
def test_out_of_range_client_options_are_refused(field: str, value: object) -> None:
    assert _errors({"type": "profile", "datastore_id": 1, field: value})[0][0] == field


@pytest.mark.parametrize(
    "body",
    [
        {"type": "materialize", "datastore_id": 1},
        {"type": "export", "datastore_id": 1, "asset_type": "checks"},
        {"type": "profile", "datastore_id": 0},
        {"type": "profile", "datastore_id": 2**31},
        {"type": "profile", "datastore_id": 1, "unknown": 1},
        {"type": "profile", "datastore_id": 1, "container_names": ["a"] * 1001},
    ],
)
def test_what_we_do_not_run_is_refused(body: dict[str, Any]) -> None:
    assert _errors(body)


def test_neutral_values_are_not_reported_as_not_applied() -> None:
    for body in (CLIENT_SYNC, CLIENT_SCAN):
        options = OperationRun.model_validate(body).recorded_options()
        assert not_applied(options) == [] and not_applied_note(options) is None
    neutral = OperationRun.model_validate(
        {
            "type": "profile",
            "datastore_id": 1,
            "ai_effort": "off",
            "max_records_analyzed_per_partition": -1,
            "auto_resolve_passed_anomalies": False,
            "container_tags": [],
            "prune": True,
        }
    )
    assert not_applied(neutral.recorded_options()) == []


def test_options_asking_for_more_are_named() -> None:
    options = OperationRun.model_validate(CLIENT_SCAN_ALL_OPTIONS).recorded_options()
    assert not_applied(options) == [
        "incremental",
        "container_tags",
        "max_records_analyzed_per_partition",
        "greater_than_time",
        "greater_than_batch",
        "enrichment_source_record_limit",
    ]
    # Applied by the scan (auto-resolve of passed anomalies): never named.
    assert "auto_resolve_passed_anomalies" in options
    note = not_applied_note({"recreate": True, "prune": False})
    assert note == "options not supported by this platform were not applied: recreate"
    # Options stored by something else than this schema are not ours to name.
    assert not_applied({"legacy": 1}) == []


BOUND = TypeAdapter(DateBound)


@pytest.mark.parametrize(
    ("given", "start", "end"),
    [
        (
            "2024-05-31",
            datetime(2024, 5, 31, tzinfo=UTC),
            datetime(2024, 5, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        ),
        (
            "2024-05-31T10:00:00",
            datetime(2024, 5, 31, 10, tzinfo=UTC),
            datetime(2024, 5, 31, 10, tzinfo=UTC),
        ),
        (
            "2024-05-31T10:00:00+02:00",
            datetime(2024, 5, 31, 8, tzinfo=UTC),
            datetime(2024, 5, 31, 8, tzinfo=UTC),
        ),
        (
            "2024-05-31T00:00:00Z",
            datetime(2024, 5, 31, tzinfo=UTC),
            datetime(2024, 5, 31, tzinfo=UTC),
        ),
    ],
)
def test_list_dates_are_utc_and_a_day_is_all_of_it(
    given: str, start: datetime, end: datetime
) -> None:
    value = BOUND.validate_python(given)
    assert lower_bound(value) == start
    assert upper_bound(value) == end
    assert (lower_bound(value) or start).tzinfo is not None


def test_a_day_stays_a_day() -> None:
    assert BOUND.validate_python("2024-02-29") == date(2024, 2, 29)
    assert lower_bound(None) is None and upper_bound(None) is None


@pytest.mark.parametrize(
    "given", ["2024-02-30", "31/05/2024", "2024-05-31T25:00", "9999-12-31T23:59:59-01:00", ""]
)
def test_bad_list_dates_are_refused(given: str) -> None:
    with pytest.raises(ValidationError):
        BOUND.validate_python(given)
