"""Scan results becoming anomalies, on SQLite and PostgreSQL: the same failure found again
updates the open anomaly, a redelivered result changes nothing twice, and an open anomaly
whose check ran again and passed is resolved (unless the scan asked not to)."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from dqplatform.controlplane.anomalies.scan_results import store_scan
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.errors import NotFound
from dqplatform.controlplane.operations.models import Operation
from dqplatform.controlplane.results import store_output
from dqplatform.messaging.operations import SAMPLE_ROWS_PER_ANOMALY, CheckOutcome, ScanResult
from tests.integration.controlplane.test_anomalies_api import (
    CHECKS,
    Place,
    by_rule,
    finding,
    listing,
    make_place,
    scan,
)
from tests.integration.controlplane.test_datastores_support import BACKENDS, Api, running_api

pytestmark = pytest.mark.integration

MANAGER = Role.MANAGER


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


@pytest.fixture
def place(api: Api) -> Place:
    return make_place(api)


def passed(place: Place, *keys: str) -> list[CheckOutcome]:
    return [CheckOutcome(check_id=place.checks[k], passed=True, records=100) for k in keys]


def failed(place: Place, key: str, count: int) -> CheckOutcome:
    return CheckOutcome(check_id=place.checks[key], passed=False, records=100, failed_records=count)


def test_the_same_failure_found_again_updates_the_open_anomaly(api: Api, place: Place) -> None:
    scan(api, place, 101, finding(place, "not_null", 3), finding(place, "between", 2))
    first = by_rule(api, place)
    url = f"/api/anomalies/{first['notNull']['id']}"
    given = {"status": "Acknowledged", "description": "on it", "tags": ["ops"]}
    assert api.call(MANAGER, "PUT", url, json=given).status_code == 200

    scan(
        api,
        place,
        102,
        finding(place, "not_null", 5, records=120, message="5 now"),
        finding(place, "between", 2),
    )
    again = by_rule(api, place)
    assert listing(api, datastore=place.ds, archived="include")["total"] == 2
    anomaly = again["notNull"]
    assert anomaly["id"] == first["notNull"]["id"]
    assert (anomaly["operation_id"], anomaly["last_operation_id"]) == (101, 102)
    assert (anomaly["anomalous_records_count"], anomaly["checked_records_count"]) == (5, 120)
    assert anomaly["failed_checks"][0]["message"] == "5 now"
    assert len(api.get(f"{url}/source-record").json()["records"]) == 5
    # What people gave it, and when it was first found, stay.
    assert (anomaly["status"], anomaly["description"], anomaly["global_tags"]) == (
        "Acknowledged",
        "on it",
        [{"name": "ops"}],
    )
    assert anomaly["created"] == first["notNull"]["created"]
    updated = (datetime.fromisoformat(a["updated"]) for a in (first["notNull"], anomaly))
    assert next(updated) < next(updated)

    # Redelivered (the dispatcher stores each delivery): nothing doubles.
    result = ScanResult(checks_evaluated=2, anomalies=[finding(place, "not_null", 5)])
    with api.session() as session:
        store_output(session, place.ds, 102, result)
        store_output(session, place.ds, 102, result)
    assert listing(api, datastore=place.ds, archived="include")["total"] == 2
    # A result stored late (scan 101 again, after 102): the newer counts stay.
    scan(api, place, 101, finding(place, "not_null", 3))
    late = by_rule(api, place)["notNull"]
    assert (late["last_operation_id"], late["anomalous_records_count"]) == (102, 5)


def test_an_archived_anomaly_found_again_is_a_new_one(api: Api, place: Place) -> None:
    scan(api, place, 201, finding(place, "not_null", 3))
    (old,) = listing(api, datastore=place.ds)["items"]
    params = {"archive": "true", "status": "Resolved"}
    assert (
        api.call(MANAGER, "DELETE", f"/api/anomalies/{old['id']}", params=params).status_code == 204
    )
    scan(api, place, 202, finding(place, "not_null", 4))
    (new,) = listing(api, datastore=place.ds)["items"]
    assert new["id"] != old["id"] and new["fingerprint"] == old["fingerprint"]
    assert (new["status"], new["operation_id"], new["anomalous_records_count"]) == (
        "Active",
        202,
        4,
    )
    kept = api.get(f"/api/anomalies/{old['id']}").json()
    assert (kept["status"], kept["last_operation_id"], kept["anomalous_records_count"]) == (
        "Resolved",
        201,
        3,
    )
    # Redelivering 202 after someone archived its anomaly neither reopens nor copies it.
    assert (
        api.call(MANAGER, "DELETE", f"/api/anomalies/{new['id']}", params=params).status_code == 204
    )
    scan(api, place, 202, finding(place, "not_null", 4))
    assert listing(api, datastore=place.ds)["total"] == 0
    assert listing(api, datastore=place.ds, archived="only")["total"] == 2


def test_a_check_that_passes_again_resolves_its_open_anomaly(api: Api, place: Place) -> None:
    scan(
        api,
        place,
        301,
        finding(place, "not_null", 3),
        finding(place, "between", 2),
        finding(place, "email", 1),
        finding(place, "volume", 0),
    )
    opened = by_rule(api, place)
    assert len(opened) == 4
    # not_null passes; between fails again; email could not be judged; volume did not run.
    email_error = CheckOutcome(check_id=place.checks["email"], passed=False, error="no field")
    scan(
        api,
        place,
        302,
        finding(place, "between", 1),
        outcomes=[*passed(place, "not_null"), failed(place, "between", 1), email_error],
    )
    after = {
        a["rule_type"]: a for a in listing(api, datastore=place.ds, archived="include")["items"]
    }
    assert {rule: a["status"] for rule, a in after.items()} == {
        "notNull": "Resolved",
        "between": "Active",
        "matchesPattern": "Active",
        "volumetric": "Active",
    }
    resolved = after["notNull"]
    assert resolved["archived"] and resolved["archived_at"] is not None
    assert resolved["last_operation_id"] == 301  # resolved by 302, not found by it
    assert after["between"]["last_operation_id"] == 302

    # Redelivered: the same.
    scan(api, place, 302, finding(place, "between", 1), outcomes=passed(place, "not_null"))
    assert listing(api, datastore=place.ds, archived="include")["total"] == 4
    # A late result of an earlier scan resolves nothing a later scan found.
    scan(api, place, 300, outcomes=passed(place, "between"))
    assert by_rule(api, place)["between"]["status"] == "Active"


def test_a_scan_may_leave_passed_anomalies_open(api: Api, place: Place) -> None:
    with api.session() as session:
        operations = [
            Operation(type="scan", datastore_id=place.ds, options=options, created_by="test")
            for options in ({"auto_resolve_passed_anomalies": False}, {})
        ]
        session.add_all(operations)
        session.flush()
        keep, resolve = sorted(o.id for o in operations)
    scan(api, place, keep - 1, finding(place, "not_null", 3))
    quiet = ScanResult(checks_evaluated=1, anomalies=[], outcomes=passed(place, "not_null"))
    with api.session() as session:
        store_output(session, place.ds, keep, quiet)
    assert by_rule(api, place)["notNull"]["status"] == "Active"
    with api.session() as session:
        store_output(session, place.ds, resolve, quiet)
    assert by_rule(api, place) == {}
    with api.session() as session:
        assert store_scan(session, place.ds, resolve + 1, quiet, auto_resolve=False) == 0


def test_findings_of_missing_checks_and_odd_values(api: Api, place: Place) -> None:
    elsewhere = make_place(api)
    rows = [{"v": math.nan, "w": math.inf, "x": -math.inf, "t": "a\x00b", "n": [1, {"k": "\x00"}]}]
    deleted = finding(place, "not_null", 1, check_id=987_654, message="deleted during the scan")
    foreign = finding(elsewhere, "between", 1, message="another datastore's check")
    odd = finding(place, "email", 1, sample_rows=rows, message="m\x00", container="cust\x00omers")
    scan(api, place, 401, deleted, foreign, odd)
    items = {a["failed_checks"][0]["message"]: a for a in listing(api, datastore=place.ds)["items"]}
    assert items["deleted during the scan"]["failed_checks"][0]["quality_check"]["id"] is None
    assert items["another datastore's check"]["failed_checks"][0]["quality_check"]["id"] is None
    cleaned = items["m"]
    assert cleaned["container"]["name"] == "customers"
    assert cleaned["container"]["id"] == place.containers["customers"]
    assert cleaned["failed_checks"][0]["quality_check"]["id"] == place.checks["email"]
    records = api.get(f"/api/anomalies/{cleaned['id']}/source-record").json()["records"]
    assert records == [
        {"v": "NaN", "w": "Infinity", "x": "-Infinity", "t": "ab", "n": [1, {"k": ""}]}
    ]
    with pytest.raises(ValueError):
        finding(place, "not_null", 99, sample_rows=[{}] * (SAMPLE_ROWS_PER_ANOMALY + 1))
    with api.session() as session, pytest.raises(NotFound):
        store_scan(session, 987_654, 1, ScanResult(checks_evaluated=0, anomalies=[]))


def test_each_check_kind_of_the_table_is_stored(api: Api, place: Place) -> None:
    keys: list[Any] = [key for key, *_ in CHECKS]
    scan(api, place, 501, *(finding(place, key, 2) for key in keys))
    stored = by_rule(api, place)
    assert {rule: a["type"] for rule, a in stored.items()} == {
        "notNull": "record",
        "between": "record",
        "matchesPattern": "record",
        "volumetric": "shape",
    }


def test_two_results_stored_at_once_make_one_anomaly(api: Api, place: Place) -> None:
    if not (api.settings.database_url or "").startswith("postgresql"):
        pytest.skip("SQLite has one writer: results are stored one after the other")
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    result = ScanResult(checks_evaluated=1, anomalies=[finding(place, "not_null", 3)])
    stored = threading.Event()

    def second_controlplane() -> None:
        with factory.begin() as session:
            store_scan(session, place.ds, 802, result)
        stored.set()

    with factory.begin() as session:
        store_scan(session, place.ds, 801, result)
        other = threading.Thread(target=second_controlplane, daemon=True)
        other.start()
        # It waits for this unit of work, which has not committed its new anomaly yet.
        assert not stored.wait(1.0)
    assert stored.wait(30.0)
    other.join(30.0)
    (anomaly,) = listing(api, datastore=place.ds, archived="include")["items"]
    assert (anomaly["operation_id"], anomaly["last_operation_id"]) == (801, 802)
