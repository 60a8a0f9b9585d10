"""Scan results stored as anomalies, and /api/anomalies, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from dqplatform.controlplane.anomalies import service
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.errors import NotFound
from dqplatform.controlplane.results import store_output
from dqplatform.messaging.operations import SAMPLE_ROWS_PER_ANOMALY, AnomalyFinding, ScanResult
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    Api,
    error_locs,
    running_api,
)

pytestmark = pytest.mark.integration

MANAGER, MEMBER = Role.MANAGER, Role.MEMBER


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


def check(api: Api, datastore_id: int, rule: str, field: str, **params: Any) -> int:
    body = {
        "datastore_id": datastore_id,
        "container": "orders",
        "field": field,
        "rule": rule,
        "params": params,
    }
    response = api.call(MANAGER, "POST", "/api/quality-checks", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def finding(check_id: int, field: str, rule: str, failed: int, **extra: Any) -> AnomalyFinding:
    values: dict[str, Any] = {
        "check_id": check_id,
        "container": "orders",
        "field": field,
        "rule": rule,
        "failed_records": failed,
        "sample_rows": [{"id": i, field: None} for i in range(min(failed, 3))],
        "message": f"{failed} records failed {rule} on {field}",
    }
    return AnomalyFinding(**{**values, **extra})


def anomalies(api: Api, role: Role = MEMBER, **params: Any) -> dict[str, Any]:
    response = api.get("/api/anomalies", role=role, params={"size": 100, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def scanned(api: Api) -> dict[str, Any]:
    """A datastore with two checks and a scan (operation 1000 + its id) that failed both."""
    datastore = api.files_datastore()
    ds = datastore["id"]
    not_null = check(api, ds, "not_null", "customer_id")
    between = check(api, ds, "between", "amount", min=0, max=100)
    operation = 1000 + ds
    result = ScanResult(
        checks_evaluated=2,
        anomalies=[
            finding(not_null, "customer_id", "not_null", 4),
            finding(between, "amount", "between", 2, sample_rows=[{"id": 9, "amount": -5}]),
        ],
    )
    with api.session() as session:
        assert service.store_scan(session, ds, operation, result) == 2
    return {"ds": ds, "op": operation, "result": result, "checks": (not_null, between)}


def test_a_scan_is_stored_once_and_read_back(api: Api, scanned: dict[str, Any]) -> None:
    ds, op = scanned["ds"], scanned["op"]
    not_null, between = scanned["checks"]
    page = anomalies(api, operation=op)
    assert page["total"] == 2
    # Newest first: the later finding has the higher id.
    first, second = page["items"]
    assert first["id"] > second["id"]
    assert {k: second[k] for k in ("operation_id", "datastore_id", "check_id", "container")} == {
        "operation_id": op,
        "datastore_id": ds,
        "check_id": not_null,
        "container": "orders",
    }
    assert (second["field"], second["rule"], second["failed_records"]) == (
        "customer_id",
        "not_null",
        4,
    )
    assert second["sample_rows"] == [{"id": i, "customer_id": None} for i in range(3)]
    assert second["message"] == "4 records failed not_null on customer_id"
    assert second["status"] == "active"
    assert (first["check_id"], first["sample_rows"]) == (between, [{"id": 9, "amount": -5}])
    assert api.get(f"/api/anomalies/{first['id']}").json() == first

    # The same result stored again (a second delivery, the dispatcher this time): replaced.
    with api.session() as session:
        store_output(session, ds, op, scanned["result"])
        store_output(session, ds, op, scanned["result"])
    again = anomalies(api, operation=op)
    assert again["total"] == 2
    assert [(a["field"], a["failed_records"]) for a in again["items"]] == [
        ("amount", 2),
        ("customer_id", 4),
    ]


def test_a_rerun_keeps_the_status_people_gave(api: Api, scanned: dict[str, Any]) -> None:
    ds, op = scanned["ds"], scanned["op"]
    amount = next(a for a in anomalies(api, operation=op)["items"] if a["field"] == "amount")
    changed = api.call(
        MANAGER, "PUT", f"/api/anomalies/{amount['id']}", json={"status": "acknowledged"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**amount, "status": "acknowledged"}
    with api.session() as session:
        service.store_scan(session, ds, op, scanned["result"])
    statuses = {a["field"]: a["status"] for a in anomalies(api, operation=op)["items"]}
    assert statuses == {"amount": "acknowledged", "customer_id": "active"}
    assert anomalies(api, datastore=ds, status="acknowledged")["total"] == 1
    assert anomalies(api, datastore=ds, status="archived")["total"] == 0
    # A later scan's anomalies are new ones: they start active.
    with api.session() as session:
        service.store_scan(session, ds, op + 1, scanned["result"])
    assert anomalies(api, datastore=ds, status="active")["total"] == 3


def test_findings_of_missing_checks_and_odd_values(api: Api, scanned: dict[str, Any]) -> None:
    ds = scanned["ds"]
    elsewhere = api.files_datastore()["id"]
    foreign = check(api, elsewhere, "unique", "id")
    rows = [{"v": math.nan, "w": math.inf, "x": -math.inf, "t": "a\x00b", "n": [1, {"k": "\x00"}]}]
    result = ScanResult(
        checks_evaluated=3,
        anomalies=[
            finding(987_654, "id", "unique", 1, message="deleted during the scan"),
            finding(foreign, "id", "unique", 1, message="another datastore's check"),
            finding(scanned["checks"][0], "note", "not_null", 1, sample_rows=rows, message="m\x00"),
        ],
    )
    with api.session() as session:
        assert service.store_scan(session, ds, 5_000 + ds, result) == 3
    items = anomalies(api, operation=5_000 + ds)["items"]
    by_message = {a["message"]: a for a in items}
    assert by_message["deleted during the scan"]["check_id"] is None
    assert by_message["another datastore's check"]["check_id"] is None
    odd = by_message["m"]
    assert odd["check_id"] == scanned["checks"][0]
    assert odd["sample_rows"] == [
        {"v": "NaN", "w": "Infinity", "x": "-Infinity", "t": "ab", "n": [1, {"k": ""}]}
    ]
    with pytest.raises(ValidationError):
        finding(1, "f", "not_null", 99, sample_rows=[{}] * (SAMPLE_ROWS_PER_ANOMALY + 1))
    with api.session() as session, pytest.raises(NotFound):
        service.store_scan(session, 987_654, 1, result)


def test_deleting_the_check_unlinks_and_deleting_the_datastore_removes(
    api: Api, scanned: dict[str, Any]
) -> None:
    ds, op = scanned["ds"], scanned["op"]
    not_null, between = scanned["checks"]
    assert api.call(MANAGER, "DELETE", f"/api/quality-checks/{not_null}").status_code == 204
    linked = {a["field"]: a["check_id"] for a in anomalies(api, operation=op)["items"]}
    assert linked == {"customer_id": None, "amount": between}
    ids = [a["id"] for a in anomalies(api, datastore=ds)["items"]]
    assert api.call(MANAGER, "DELETE", f"/api/datastores/{ds}").status_code == 204
    assert anomalies(api, operation=op)["total"] == 0
    for anomaly_id in ids:
        assert api.get(f"/api/anomalies/{anomaly_id}").status_code == 404


def test_status_changes_deletes_and_bad_requests(api: Api, scanned: dict[str, Any]) -> None:
    op = scanned["op"]
    first, second = anomalies(api, operation=op)["items"]
    url = f"/api/anomalies/{first['id']}"
    for body, loc in (
        ({"status": "resolved"}, ["body", "status"]),
        ({}, ["body", "status"]),
        ({"status": "archived", "message": "x"}, ["body", "message"]),
    ):
        assert error_locs(api.call(MANAGER, "PUT", url, json=body)) == [loc]
    archived = api.call(MANAGER, "PUT", url, json={"status": "archived"}).json()
    assert archived["status"] == "archived"
    back = api.call(MANAGER, "PUT", url, json={"status": "active"}).json()
    assert back["status"] == "active"

    assert api.call(MANAGER, "DELETE", url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.call(MANAGER, "DELETE", url).status_code == 404
    assert api.call(MANAGER, "PUT", url, json={"status": "active"}).status_code == 404
    assert [a["id"] for a in anomalies(api, operation=op)["items"]] == [second["id"]]

    for bad in (
        {"status": "open"},
        {"operation": 0},
        {"datastore": "x"},
        {"size": 101},
        {"page": 0},
    ):
        response = api.get("/api/anomalies", params=bad)
        assert error_locs(response) == [["query", next(iter(bad))]]
    assert error_locs(api.get(f"/api/anomalies/{2**31}")) == [["path", "anomaly_id"]]


def test_pages(api: Api) -> None:
    ds = api.files_datastore()["id"]
    not_null = check(api, ds, "not_null", "id")
    result = ScanResult(
        checks_evaluated=1,
        anomalies=[finding(not_null, "id", "not_null", n + 1) for n in range(5)],
    )
    with api.session() as session:
        service.store_scan(session, ds, 9_000 + ds, result)
    everything = [a["id"] for a in anomalies(api, datastore=ds)["items"]]
    assert everything == sorted(everything, reverse=True)
    page = api.get("/api/anomalies", params={"datastore": ds, "size": 2, "page": 3}).json()
    assert ([a["id"] for a in page["items"]], page["total"]) == (everything[4:], 5)
    assert (
        api.get("/api/anomalies", params={"datastore": ds, "page": 4, "size": 2}).json()["items"]
        == []
    )


def test_roles(api: Api, scanned: dict[str, Any]) -> None:
    first, second = anomalies(api, operation=scanned["op"])["items"]
    calls: list[tuple[str, str, Any, Role, int]] = [
        ("GET", "/api/anomalies", None, MEMBER, 200),
        ("GET", f"/api/anomalies/{first['id']}", None, MEMBER, 200),
        ("PUT", f"/api/anomalies/{first['id']}", {"status": "archived"}, MANAGER, 200),
        ("DELETE", f"/api/anomalies/{second['id']}", None, MANAGER, 204),
    ]
    for method, path, payload, least, allowed in calls:
        assert api.call(None, method, path, json=payload).status_code == 401
        for role in Role:
            if not role.allows(least):
                assert api.call(role, method, path, json=payload).status_code == 403, (path, role)
        if method != "DELETE":
            assert api.call(Role.ADMIN, method, path, json=payload).status_code == allowed
        response = api.call(least, method, path, json=payload)
        assert response.status_code == allowed, (method, path, response.text)
    # Anomalies come from scans only.
    assert api.call(Role.ADMIN, "POST", "/api/anomalies", json={}).status_code == 405
