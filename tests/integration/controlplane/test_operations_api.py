"""/api/operations as qualytics-cli calls it, on SQLite and PostgreSQL (no dataplane)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dqplatform.controlplane.auth.roles import Role
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    Api,
    error_locs,
    running_api,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


def _run(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.call(Role.MANAGER, "POST", "/api/operations/run", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _listed(api: Api, **params: Any) -> list[int]:
    response = api.get("/api/operations", params={"size": 100, **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_client_sync_profile_and_scan_bodies_are_queued(api: Api) -> None:
    datastore_id = api.files_datastore()["id"]
    sync = _run(
        api, {"datastore_id": datastore_id, "type": "sync", "prune": False, "recreate": False}
    )
    assert (sync["type"], sync["result"]) == ("catalog", "queued")
    assert sync["options"] == {"prune": False, "recreate": False}
    profile = _run(
        api,
        {
            "datastore_id": datastore_id,
            "type": "profile",
            "container_names": ["orders.csv"],
            "ai_effort": "high",
            "greater_than_time": "2024-01-01T00:00:00.000Z",
            "percent_testing_threshold": 0.4,
        },
    )
    assert profile["container_names"] == ["orders.csv"]
    assert profile["options"]["ai_effort"] == "high"
    scan = _run(api, {"datastore_id": datastore_id, "type": "scan", "incremental": False})
    assert scan["status"] == {
        "total_containers": None,
        "containers_analyzed": 0,
        "records_processed": 0,
    }
    assert _listed(api, datastore=datastore_id, operation_type="sync") == [sync["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "materialize"},
        {"type": "export", "asset_type": "checks", "include_deleted": False},
        {"type": "profile", "percent_testing_threshold": "NaN"},
        {"type": "profile", "max_count_testing_sample": 10**30},
    ],
)
def test_what_the_platform_does_not_run_is_a_422(api: Api, body: dict[str, Any]) -> None:
    datastore_id = api.files_datastore()["id"]
    response = api.call(
        Role.MANAGER, "POST", "/api/operations/run", json={"datastore_id": datastore_id, **body}
    )
    locs = error_locs(response)
    assert locs and all(loc[0] == "body" for loc in locs)
    assert _listed(api, datastore=datastore_id) == []


def test_the_list_takes_days_and_naive_times(api: Api) -> None:
    datastore_id = api.files_datastore()["id"]
    operation_id = _run(api, {"datastore_id": datastore_id, "type": "catalog"})["id"]
    today = datetime.now(UTC).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    hour = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    # What `qualytics operations list --start-date ... --end-date ...` sends: days alone.
    assert _listed(api, datastore=datastore_id, start_date=today, end_date=today) == [operation_id]
    assert _listed(api, datastore=datastore_id, start_date=yesterday, end_date=yesterday) == []
    assert _listed(api, datastore=datastore_id, start_date=tomorrow) == []
    # Without an offset a time is UTC; with one it is converted.
    naive_before = (hour - timedelta(hours=1)).isoformat()
    assert _listed(api, datastore=datastore_id, start_date=naive_before) == [operation_id]
    assert _listed(api, datastore=datastore_id, end_date=naive_before) == []
    ahead = (datetime.now(UTC) + timedelta(hours=1)).astimezone().isoformat()
    assert _listed(api, datastore=datastore_id, end_date=ahead) == [operation_id]


@pytest.mark.parametrize(
    "value",
    # "3263": pydantic would read a number as a Unix time (schemathesis found it).
    ["2024-02-30", "31/05/2024", "9999-12-31T23:59:59-01:00", "tomorrow", "3263", "1.5e9"],
)
def test_bad_list_dates_are_a_422(api: Api, value: str) -> None:
    response = api.get("/api/operations", params={"start_date": value})
    assert error_locs(response) == [["query", "start_date"]]
    response = api.get("/api/operations", params={"end_date": value})
    assert error_locs(response) == [["query", "end_date"]]
