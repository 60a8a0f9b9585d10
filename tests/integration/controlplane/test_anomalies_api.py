"""/api/anomalies as qualytics-cli 1.2.2 uses it, on SQLite and PostgreSQL: reading,
source records, update, archive (kept), delete, the bulk forms and bad requests.

The anomalies come from `store_scan` with synthetic scan results (the dataplane's engine
has suites of its own); the checks and containers they name are rows put in the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from dqplatform.controlplane.anomalies.scan_results import store_scan
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.users.models import User
from dqplatform.messaging.operations import AnomalyFinding, ScanResult
from dqplatform.messaging.rules import RuleType
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    Api,
    error_locs,
    running_api,
)

pytestmark = pytest.mark.integration

MANAGER, MEMBER = Role.MANAGER, Role.MEMBER
# (key, container, rule, fields, properties) of the checks each place has.
CHECKS: list[tuple[str, str, RuleType, list[str], dict[str, Any]]] = [
    ("not_null", "orders", RuleType.NOT_NULL, ["customer_id"], {}),
    ("between", "orders", RuleType.BETWEEN, ["amount"], {"min": 0, "max": 100}),
    ("volume", "orders", RuleType.VOLUMETRIC, [], {"comparison": "Absolute"}),
    ("email", "customers", RuleType.MATCHES_PATTERN, ["email"], {"pattern": ".+@.+"}),
]


@dataclass
class Place:
    """A datastore of its own, with catalogued containers and checks on them."""

    ds: int
    name: str
    containers: dict[str, int]
    checks: dict[str, int]


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


def make_place(api: Api) -> Place:
    datastore = api.files_datastore()
    ds = datastore["id"]
    with api.session() as session:
        containers = {}
        for name in ("orders", "customers"):
            row = Container(datastore_id=ds, name=name, type="file", fields=[])
            session.add(row)
            session.flush()
            containers[name] = row.id
        checks = {}
        for key, container, rule, fields, properties in CHECKS:
            check = QualityCheck(
                datastore_id=ds,
                container=container,
                rule=rule.value,
                fields=fields,
                properties=properties,
                description=f"the {key} check",
            )
            session.add(check)
            session.flush()
            checks[key] = check.id
    return Place(ds, datastore["name"], containers, checks)


@pytest.fixture
def place(api: Api) -> Place:
    return make_place(api)


def finding(place: Place, key: str, failed: int, **extra: Any) -> AnomalyFinding:
    """What the dataplane reports for check `key` failing `failed` of 100 records."""
    _, container, rule, fields, _ = next(c for c in CHECKS if c[0] == key)
    shape = rule == RuleType.VOLUMETRIC
    values: dict[str, Any] = {
        "check_id": place.checks[key],
        "container": container,
        "fields": fields,
        "rule": rule,
        "type": "shape" if shape else "record",
        "records": 100,
        "failed_records": failed,
        "sample_rows": [] if shape else [{"id": i, **dict.fromkeys(fields)} for i in range(failed)],
        "message": f"{failed} records failed {rule.value}",
    }
    return AnomalyFinding(**{**values, **extra})


def scan(api: Api, place: Place, operation: int, *findings: AnomalyFinding, **kw: Any) -> None:
    result = ScanResult(checks_evaluated=len(CHECKS), anomalies=list(findings), **kw)
    with api.session() as session:
        store_scan(session, place.ds, operation, result)


def listing(api: Api, role: Role = MEMBER, **params: Any) -> dict[str, Any]:
    response = api.get("/api/anomalies", role=role, params={"size": 100, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_rule(api: Api, place: Place, **params: Any) -> dict[str, dict[str, Any]]:
    return {a["rule_type"]: a for a in listing(api, datastore=place.ds, **params)["items"]}


def user_ids(api: Api, count: int) -> list[int]:
    with api.session() as session:
        return list(session.scalars(select(User.id).order_by(User.id).limit(count)))


def test_a_scan_is_read_back_as_the_client_reads_it(api: Api, place: Place) -> None:
    scan(api, place, 11, finding(place, "not_null", 3), finding(place, "volume", 0))
    page = listing(api, datastore=place.ds)
    assert page["total"] == 2 and page["page"] == 1 and page["size"] == 100
    anomalies = {a["rule_type"]: a for a in page["items"]}
    record = anomalies["notNull"]
    assert {k: record[k] for k in ("type", "status", "archived", "archived_at")} == {
        "type": "record",
        "status": "Active",
        "archived": False,
        "archived_at": None,
    }
    assert record["datastore"] == {"id": place.ds, "name": place.name}
    assert record["container"] == {
        "id": place.containers["orders"],
        "name": "orders",
        "container_type": "file",
    }
    assert record["fields"] == [{"name": "customer_id"}]
    assert (record["anomalous_records_count"], record["checked_records_count"]) == (3, 100)
    assert record["failed_checks"] == [
        {
            "quality_check": {
                "id": place.checks["not_null"],
                "rule_type": "notNull",
                "fields": [{"name": "customer_id"}],
                "description": "the not_null check",
                "filter": None,
                "coverage": None,
                "properties": {},
            },
            "message": "3 records failed notNull",
        }
    ]
    assert (record["description"], record["global_tags"], record["assignees"]) == (None, [], [])
    assert (record["operation_id"], record["last_operation_id"]) == (11, 11)
    assert record["source_enriched"] is True and len(record["fingerprint"]) == 64
    shape = anomalies["volumetric"]
    assert (shape["type"], shape["fields"], shape["source_enriched"]) == ("shape", [], False)
    assert api.get(f"/api/anomalies/{record['id']}").json() == record

    sources = api.get(f"/api/anomalies/{record['id']}/source-record").json()
    rows = [{"id": i, "customer_id": None} for i in range(3)]
    assert sources["records"] == rows and json.loads(sources["source_record"]) == rows
    assert (sources["fields"], sources["anomalous_records_count"]) == (["customer_id"], 3)
    assert (sources["created"], sources["last_operation_id"]) == (record["created"], 11)
    limited = api.get(f"/api/anomalies/{record['id']}/source-record", params={"limit": 1})
    assert limited.json()["records"] == rows[:1]
    assert api.get(f"/api/anomalies/{shape['id']}/source-record").json()["records"] == []
    assert api.get("/api/anomalies/987654/source-record").status_code == 404


def test_update_sets_status_description_tags_and_assignees(api: Api, place: Place) -> None:
    scan(api, place, 21, finding(place, "not_null", 2))
    (anomaly,) = listing(api, datastore=place.ds)["items"]
    url = f"/api/anomalies/{anomaly['id']}"
    users = user_ids(api, 2)
    body = {
        "status": "Acknowledged",
        "description": "looking into it",
        "tags": ["critical", "finance", "critical"],
        "assignee_ids": users,
    }
    response = api.call(MANAGER, "PUT", url, json=body)
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["status"] == "Acknowledged" and changed["description"] == "looking into it"
    assert changed["global_tags"] == [{"name": "critical"}, {"name": "finance"}]
    assert [a["id"] for a in changed["assignees"]] == users
    assert all(a["username"] for a in changed["assignees"])
    assert api.get(url).json() == changed

    # Only what is given changes; [] clears the assignees.
    kept = api.call(MANAGER, "PUT", url, json={"assignee_ids": []}).json()
    assert (kept["status"], kept["description"], kept["assignees"]) == (
        "Acknowledged",
        "looking into it",
        [],
    )
    assert kept["global_tags"] == changed["global_tags"]

    for bad, loc in (
        ({"status": "Resolved"}, ["body", "status"]),
        ({"status": "Open"}, ["body", "status"]),
        ({"comment": "x"}, ["body", "comment"]),
        ({"tags": [""]}, ["body", "tags", 0]),
        ({"tags": ["a\x00b"]}, ["body", "tags", 0]),
        ({"description": "a\x00b"}, ["body", "description"]),
        ({"assignee_ids": [987_654]}, ["body", "assignee_ids"]),
    ):
        assert error_locs(api.call(MANAGER, "PUT", url, json=bad)) == [loc], bad
    archive_hint = api.call(MANAGER, "PUT", url, json={"status": "Resolved"}).json()
    assert "archive=true&status=Resolved" in archive_hint["errors"][0]["msg"]
    assert (
        "987654"
        in api.call(MANAGER, "PUT", url, json={"assignee_ids": [987_654]}).json()["errors"][0][
            "msg"
        ]
    )
    assert api.get(url).json() == kept  # nothing changed by the bad requests
    assert api.call(MANAGER, "PUT", "/api/anomalies/987654", json={}).status_code == 404


def test_archive_keeps_the_anomaly_and_delete_removes_it(api: Api, place: Place) -> None:
    scan(api, place, 31, finding(place, "not_null", 2), finding(place, "between", 1))
    anomalies = by_rule(api, place)
    kept_url = f"/api/anomalies/{anomalies['notNull']['id']}"
    gone_url = f"/api/anomalies/{anomalies['between']['id']}"

    params = {"archive": "true", "status": "Invalid"}
    assert api.call(MANAGER, "DELETE", kept_url, params=params).status_code == 204
    archived = api.get(kept_url).json()
    assert (archived["status"], archived["archived"]) == ("Invalid", True)
    assert archived["archived_at"] is not None
    assert api.get(f"{kept_url}/source-record").json()["anomalous_records_count"] == 2
    assert set(by_rule(api, place)) == {"between"}  # open ones only, by default
    assert set(by_rule(api, place, archived="only")) == {"notNull"}
    assert set(by_rule(api, place, archived="include")) == {"notNull", "between"}
    # Archived again: the new status, the first archive time.
    params = {"archive": "true", "status": "Duplicate"}
    assert api.call(MANAGER, "DELETE", kept_url, params=params).status_code == 204
    again = api.get(kept_url).json()
    assert (again["status"], again["archived_at"]) == ("Duplicate", archived["archived_at"])
    # An open status restores it.
    restored = api.call(MANAGER, "PUT", kept_url, json={"status": "Active"}).json()
    assert (restored["status"], restored["archived"], restored["archived_at"]) == (
        "Active",
        False,
        None,
    )
    # No parameters: archived as Resolved, as the client's default.
    assert api.call(MANAGER, "DELETE", kept_url).status_code == 204
    assert api.get(kept_url).json()["status"] == "Resolved"

    for bad in ({"status": "Active"}, {"status": "resolved"}, {"archive": "maybe"}):
        assert error_locs(api.call(MANAGER, "DELETE", gone_url, params=bad)) == [
            ["query", next(iter(bad))]
        ]
    # The client sends its default status with archive=false too.
    params = {"archive": "false", "status": "Resolved"}
    assert api.call(MANAGER, "DELETE", gone_url, params=params).status_code == 204
    assert api.get(gone_url).status_code == 404
    assert api.call(MANAGER, "DELETE", gone_url, params=params).status_code == 404
    assert set(by_rule(api, place, archived="include")) == {"notNull"}


def test_bulk_update_and_delete_are_all_or_nothing(api: Api, place: Place) -> None:
    scan(
        api,
        place,
        41,
        finding(place, "not_null", 2),
        finding(place, "between", 1),
        finding(place, "email", 4),
    )
    ids = {rule: a["id"] for rule, a in by_rule(api, place).items()}
    first, second, third = ids["notNull"], ids["between"], ids["matchesPattern"]

    unknown = [{"id": first, "status": "Acknowledged"}, {"id": 987_654, "status": "Active"}]
    response = api.call(MANAGER, "PATCH", "/api/anomalies", json=unknown)
    assert error_locs(response) == [["body", 1, "id"]]
    assert "987654" in response.json()["errors"][0]["msg"]
    twice = [{"id": first, "status": "Acknowledged"}, {"id": first, "status": "Active"}]
    assert error_locs(api.call(MANAGER, "PATCH", "/api/anomalies", json=twice)) == [
        ["body", 1, "id"]
    ]
    assert error_locs(api.call(MANAGER, "PATCH", "/api/anomalies", json=[])) == [["body"]]
    assert by_rule(api, place)["notNull"]["status"] == "Active"  # nothing changed

    items = [
        {"id": first, "status": "Acknowledged", "tags": ["triage"]},
        {"id": second, "status": "Acknowledged", "description": "known"},
    ]
    response = api.call(MANAGER, "PATCH", "/api/anomalies", json=items)
    assert response.status_code == 200, response.text
    assert [(a["id"], a["status"]) for a in response.json()] == [
        (first, "Acknowledged"),
        (second, "Acknowledged"),
    ]
    now = by_rule(api, place)
    assert (now["notNull"]["global_tags"], now["between"]["description"]) == (
        [{"name": "triage"}],
        "known",
    )
    assert now["matchesPattern"]["status"] == "Active"

    unknown_delete = [{"id": first, "archive": False}, {"id": 987_654, "archive": False}]
    response = api.call(MANAGER, "DELETE", "/api/anomalies", json=unknown_delete)
    assert error_locs(response) == [["body", 1, "id"]]
    assert set(by_rule(api, place)) == {"notNull", "between", "matchesPattern"}

    items = [
        {"id": first, "archive": True, "status": "Discarded"},
        {"id": second},  # archive and Resolved by default
        {"id": third, "archive": False},
    ]
    assert api.call(MANAGER, "DELETE", "/api/anomalies", json=items).status_code == 204
    archived = by_rule(api, place, archived="include")
    assert {rule: a["status"] for rule, a in archived.items()} == {
        "notNull": "Discarded",
        "between": "Resolved",
    }
    assert api.get(f"/api/anomalies/{third}").status_code == 404


def test_bad_list_requests_name_the_parameter(api: Api) -> None:
    for bad in (
        {"status": "Open"},
        {"anomaly_type": "row"},
        {"archived": "yes"},
        {"rule_type": "noSuchRule"},
        {"start_date": "3263"},
        {"end_date": "yesterday"},
        {"sort_created": "up"},
        {"sort_weight": "heavy"},
        {"timeframe": 0},
        {"source_enriched": "perhaps"},
        {"tag": "a\x00b"},
        {"container": 0},
        {"quality_check": 2**31},
        {"datastore": "x"},
        {"operation": 0},
        {"size": 101},
        {"page": 0},
    ):
        response = api.get("/api/anomalies", params=bad)
        locs = error_locs(response)
        assert [loc[:2] for loc in locs] == [["query", next(iter(bad))]], bad
    unknown_rule = api.get("/api/anomalies", params={"rule_type": "noSuchRule"}).json()
    assert "unknown rule 'noSuchRule'" in unknown_rule["errors"][0]["msg"]
    assert error_locs(api.get(f"/api/anomalies/{2**31}")) == [["path", "anomaly_id"]]


def test_pages(api: Api, place: Place) -> None:
    findings = [
        finding(place, key, n + 1, container=container)
        for n, (key, container) in enumerate(
            [("not_null", "orders"), ("between", "orders"), ("email", "customers")]
        )
    ]
    findings += [finding(place, "not_null", 9, container="elsewhere"), finding(place, "volume", 0)]
    scan(api, place, 51, *findings)
    everything = [a["id"] for a in listing(api, datastore=place.ds)["items"]]
    assert len(everything) == 5 and everything == sorted(everything, reverse=True)
    page = api.get("/api/anomalies", params={"datastore": place.ds, "size": 2, "page": 3}).json()
    assert ([a["id"] for a in page["items"]], page["total"]) == (everything[4:], 5)
    beyond = api.get("/api/anomalies", params={"datastore": place.ds, "size": 2, "page": 4})
    assert beyond.json()["items"] == []
    oldest = listing(api, datastore=place.ds, sort_created="asc")["items"]
    assert [a["id"] for a in oldest] == everything[::-1]
    heaviest = listing(api, datastore=place.ds, sort_weight="desc")["items"]
    counts = [a["anomalous_records_count"] for a in heaviest]
    assert counts == sorted(counts, reverse=True) == [9, 3, 2, 1, 0]
    # A container the catalog does not have: named, without an id.
    stray = next(a for a in heaviest if a["anomalous_records_count"] == 9)
    assert stray["container"] == {"id": None, "name": "elsewhere", "container_type": None}


def test_roles(api: Api, place: Place) -> None:
    scan(api, place, 61, finding(place, "not_null", 1), finding(place, "between", 1))
    first, second = (a["id"] for a in listing(api, datastore=place.ds)["items"])
    calls: list[tuple[str, str, Any, Role, int]] = [
        ("GET", "/api/anomalies", None, MEMBER, 200),
        ("GET", f"/api/anomalies/{first}", None, MEMBER, 200),
        ("GET", f"/api/anomalies/{first}/source-record", None, MEMBER, 200),
        ("PUT", f"/api/anomalies/{first}", {"status": "Acknowledged"}, MANAGER, 200),
        ("PATCH", "/api/anomalies", [{"id": first, "status": "Active"}], MANAGER, 200),
        ("DELETE", f"/api/anomalies/{first}", None, MANAGER, 204),
        ("DELETE", "/api/anomalies", [{"id": second}], MANAGER, 204),
    ]
    for method, path, payload, least, allowed in calls:
        assert api.call(None, method, path, json=payload).status_code == 401
        for role in Role:
            if not role.allows(least):
                assert api.call(role, method, path, json=payload).status_code == 403, (path, role)
        response = api.call(least, method, path, json=payload)
        assert response.status_code == allowed, (method, path, response.text)
    # Anomalies come from scans only.
    assert api.call(Role.ADMIN, "POST", "/api/anomalies", json={}).status_code == 405


def test_deleting_the_check_unlinks_and_deleting_the_datastore_removes(
    api: Api, place: Place
) -> None:
    scan(api, place, 71, finding(place, "not_null", 1), finding(place, "between", 1))
    with api.session() as session:
        session.delete(session.get(QualityCheck, place.checks["not_null"]))
    anomalies = by_rule(api, place)
    unlinked = anomalies["notNull"]["failed_checks"][0]["quality_check"]
    assert (unlinked["id"], unlinked["rule_type"], unlinked["description"]) == (
        None,
        "notNull",
        None,
    )
    assert unlinked["fields"] == [{"name": "customer_id"}]
    linked = anomalies["between"]["failed_checks"][0]["quality_check"]
    assert linked["id"] == place.checks["between"]
    assert linked["properties"] == {"min": 0, "max": 100}
    ids = [a["id"] for a in anomalies.values()]
    assert api.call(MANAGER, "DELETE", f"/api/datastores/{place.ds}").status_code == 204
    for anomaly_id in ids:
        assert api.get(f"/api/anomalies/{anomaly_id}").status_code == 404
