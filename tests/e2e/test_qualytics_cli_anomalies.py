"""qualytics-cli 1.2.2 triages the anomalies of a real scan on a live dqplatform.

A files datastore of generated CSV with planted violations is catalogued, given a notNull
and a between check through the API, and scanned by the dataplane; then the client's
`anomalies list|get|update|archive|delete` drive what the scan found, and the test reads the
result back from the platform's own API. Archived anomalies stay readable; deleted ones go.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Platform, running_up, wait_until
from tests.e2e.test_qualytics_cli import Qualytics, qualytics_venv  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

ROWS = 600
OPERATION_TIMEOUT = 600  # seconds; Spark on a busy two-core machine
SOURCE_RECORDS = 50  # messaging.operations.SAMPLE_ROWS_PER_ANOMALY


def _row(i: int) -> dict[str, Any]:
    # Boundaries 18 and 99 pass (inclusive), 17 and 100 fail; some emails are empty.
    age = 18 + i % 82
    if i % 37 == 5:
        age = 150
    elif i % 53 == 7:
        age = 17
    elif i % 61 == 3:
        age = 100
    return {"id": i, "email": "" if i % 25 == 4 else f"user{i}@example.com", "age": age}


DATA = [_row(i) for i in range(ROWS)]
# Counted here, independently of the platform: what each check must find.
NO_EMAIL = [r["id"] for r in DATA if r["email"] == ""]
OUT_OF_RANGE = [r["id"] for r in DATA if not 18 <= r["age"] <= 99]


def _write(folder: Path, rows: list[dict[str, Any]]) -> None:
    with (folder / "customers.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "email", "age"])
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`dqp up`: a controlplane and a dataplane on the embedded broker."""
    with running_up(tmp_path_factory.mktemp("qualytics-anomalies") / "data") as instance:
        yield instance


@pytest.fixture(scope="module")
def qualytics(
    qualytics_venv: Path,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
    platform: Platform,
) -> Qualytics:
    created = platform.request(
        "POST", "/api/user-tokens", json={"name": "qualytics-anomalies", "expires_in_days": 1}
    )
    assert created.status_code == 201, created.text
    client = Qualytics(qualytics_venv, tmp_path_factory.mktemp("qualytics-home"))
    init = client.run("auth", "init", "--url", platform.url, "--token", created.json()["token"])
    assert init.returncode == 0 and "Configuration saved" in init.stdout, init.stdout
    return client


def _ok(platform: Platform, method: str, path: str, **kwargs: Any) -> Any:
    response = platform.request(method, path, **kwargs)
    assert response.status_code in (200, 201, 204), f"{method} {path}: {response.text}"
    return response.json() if response.content else None


def _run_operation(platform: Platform, datastore: int, kind: str) -> int:
    started = _ok(
        platform, "POST", "/api/operations/run", json={"datastore_id": datastore, "type": kind}
    )
    operation_id = int(started["id"])

    def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = _ok(platform, "GET", f"/api/operations/{operation_id}")
        return body if body["end_time"] else None

    body = wait_until(ended, OPERATION_TIMEOUT, 1.0)
    assert body["result"] == "success", body
    return operation_id


@pytest.fixture(scope="module")
def scanned(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The datastore, its checks, and the operation of its first scan."""
    folder = tmp_path_factory.mktemp("files")
    _write(folder, DATA)
    datastore = _ok(
        platform,
        "POST",
        "/api/datastores",
        json={"name": "anomalies-e2e", "kind": "files", "path": str(folder), "file_format": "csv"},
    )["id"]
    _run_operation(platform, datastore, "catalog")
    containers = _ok(platform, "GET", f"/api/containers?datastore={datastore}")["items"]
    (container,) = [c["id"] for c in containers if c["name"] == "customers.csv"]
    not_null = _ok(
        platform,
        "POST",
        "/api/quality-checks",
        json={"container_id": container, "rule": "notNull", "fields": ["email"]},
    )["id"]
    between = _ok(
        platform,
        "POST",
        "/api/quality-checks",
        json={
            "container_id": container,
            "rule": "between",
            "fields": ["age"],
            "properties": {"min": 18, "max": 99, "inclusive_min": True, "inclusive_max": True},
        },
    )["id"]
    scan = _run_operation(platform, datastore, "scan")
    return {
        "folder": folder,
        "datastore": datastore,
        "container": container,
        "checks": {"notNull": not_null, "between": between},
        "scan": scan,
    }


def _json_after(output: str) -> Any:
    """The JSON the client printed (after its 'Found N ...' line, if any)."""
    start = min(i for i in (output.find("["), output.find("{")) if i >= 0)
    return json.loads(output[start:])


def _cli(qualytics: Qualytics, *args: str) -> subprocess.CompletedProcess[str]:
    result = qualytics.run("anomalies", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _listed(qualytics: Qualytics, datastore: int, *args: str) -> list[dict[str, Any]]:
    result = _cli(qualytics, "list", "--datastore-id", str(datastore), *args, "--format", "json")
    items: list[dict[str, Any]] = _json_after(result.stdout)
    assert f"Found {len(items)} anomalies." in result.stdout
    return items


def _by_rule(platform: Platform, datastore: int, **params: Any) -> dict[str, dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in {"datastore": datastore, **params}.items())
    items = _ok(platform, "GET", f"/api/anomalies?{query}")["items"]
    return {a["rule_type"]: a for a in items}


def test_a_scan_finds_exactly_the_planted_records(
    platform: Platform, scanned: dict[str, Any]
) -> None:
    found = _by_rule(platform, scanned["datastore"])
    assert set(found) == {"notNull", "between"}
    for rule, planted, field in (
        ("notNull", NO_EMAIL, "email"),
        ("between", OUT_OF_RANGE, "age"),
    ):
        anomaly = found[rule]
        assert anomaly["anomalous_records_count"] == len(planted), rule
        assert (anomaly["type"], anomaly["status"], anomaly["operation_id"]) == (
            "record",
            "Active",
            scanned["scan"],
        )
        assert anomaly["container"]["id"] == scanned["container"]
        assert anomaly["failed_checks"][0]["quality_check"]["id"] == scanned["checks"][rule]
        sources = _ok(platform, "GET", f"/api/anomalies/{anomaly['id']}/source-record")
        assert sources["fields"] == [field]
        assert len(sources["records"]) == min(len(planted), SOURCE_RECORDS)
        assert {int(r["id"]) for r in sources["records"]} <= set(planted)


def test_the_client_lists_gets_updates_archives_and_deletes(
    qualytics: Qualytics, platform: Platform, scanned: dict[str, Any]
) -> None:
    datastore = scanned["datastore"]
    found = _by_rule(platform, datastore)
    nulls, ages = found["notNull"]["id"], found["between"]["id"]

    listed = _listed(qualytics, datastore)
    assert sorted(a["id"] for a in listed) == sorted([nulls, ages])
    only = _listed(qualytics, datastore, "--check-id", str(scanned["checks"]["between"]))
    assert [a["id"] for a in only] == [ages]
    assert _listed(qualytics, datastore, "--type", "shape") == []
    assert len(_listed(qualytics, datastore, "--status", "Active", "--type", "record")) == 2
    container = _listed(qualytics, datastore, "--container", str(scanned["container"]))
    assert len(container) == 2

    shown = _cli(qualytics, "get", "--id", str(nulls), "--format", "json")
    assert _json_after(shown.stdout) == _ok(platform, "GET", f"/api/anomalies/{nulls}")

    updated = _cli(
        qualytics, "update", "--id", str(nulls), "--status", "Acknowledged",
        "--description", "emails are being backfilled", "--tags", "critical,crm",
    )  # fmt: skip
    assert f"Anomaly {nulls} updated to 'Acknowledged'." in updated.stdout
    anomaly = _ok(platform, "GET", f"/api/anomalies/{nulls}")
    assert (anomaly["status"], anomaly["description"]) == (
        "Acknowledged",
        "emails are being backfilled",
    )
    assert anomaly["global_tags"] == [{"name": "critical"}, {"name": "crm"}]
    tagged = _listed(qualytics, datastore, "--tag", "crm")
    assert [a["id"] for a in tagged] == [nulls]

    bulk = _cli(qualytics, "update", "--ids", f"{nulls},{ages}", "--status", "Acknowledged")
    assert "Updated 2 anomalies to 'Acknowledged'." in bulk.stdout
    assert len(_listed(qualytics, datastore, "--status", "Acknowledged")) == 2

    archived = _cli(qualytics, "archive", "--id", str(nulls), "--status", "Invalid")
    assert f"Anomaly {nulls} archived as 'Invalid'." in archived.stdout
    kept = _ok(platform, "GET", f"/api/anomalies/{nulls}")
    assert (kept["status"], kept["archived"], kept["description"]) == (
        "Invalid",
        True,
        "emails are being backfilled",
    )
    assert [a["id"] for a in _listed(qualytics, datastore, "--status", "Invalid")] == [nulls]
    assert [a["id"] for a in _listed(qualytics, datastore)] == [ages]

    deleted = _cli(qualytics, "delete", "--id", str(ages))
    assert f"Deleted anomaly {ages}." in deleted.stdout
    assert platform.get(f"/api/anomalies/{ages}").status_code == 404
    assert _listed(qualytics, datastore) == []
    assert platform.get(f"/api/anomalies/{nulls}").status_code == 200


def test_a_second_scan_and_the_bulk_forms(
    qualytics: Qualytics, platform: Platform, scanned: dict[str, Any]
) -> None:
    datastore = scanned["datastore"]
    second = _run_operation(platform, datastore, "scan")
    # Found again: open anomalies (new ones where the earlier ones were archived or deleted).
    found = _by_rule(platform, datastore)
    assert {rule: a["last_operation_id"] for rule, a in found.items()} == {
        "notNull": second,
        "between": second,
    }
    assert found["notNull"]["anomalous_records_count"] == len(NO_EMAIL)
    assert found["between"]["anomalous_records_count"] == len(OUT_OF_RANGE)
    ids = [found["notNull"]["id"], found["between"]["id"]]
    listed = ",".join(str(i) for i in ids)
    everything = f"/api/anomalies?datastore={datastore}&archived=include"
    before = _ok(platform, "GET", everything)["total"]

    archived = _cli(qualytics, "archive", "--ids", listed, "--status", "Duplicate")
    assert "Archived 2 anomalies as 'Duplicate'." in archived.stdout
    assert {_ok(platform, "GET", f"/api/anomalies/{i}")["status"] for i in ids} == {"Duplicate"}
    assert _ok(platform, "GET", everything)["total"] == before  # kept
    assert _listed(qualytics, datastore) == []

    deleted = _cli(qualytics, "delete", "--ids", listed)
    assert "Deleted 2 anomalies." in deleted.stdout
    assert all(platform.get(f"/api/anomalies/{i}").status_code == 404 for i in ids)
    assert _ok(platform, "GET", everything)["total"] == before - 2


def test_a_scan_that_no_longer_finds_a_failure_resolves_it(
    qualytics: Qualytics, platform: Platform, scanned: dict[str, Any]
) -> None:
    datastore, folder = scanned["datastore"], scanned["folder"]
    _write(folder, DATA)
    first = _run_operation(platform, datastore, "scan")
    found = _by_rule(platform, datastore)
    assert {rule: a["last_operation_id"] for rule, a in found.items()} == {
        "notNull": first,
        "between": first,
    }
    nulls, ages = found["notNull"]["id"], found["between"]["id"]
    _cli(qualytics, "update", "--id", str(nulls), "--status", "Acknowledged")

    # The emails are fixed: the notNull check passes, its open anomaly is resolved.
    fixed_emails = [{**r, "email": r["email"] or f"late{r['id']}@example.com"} for r in DATA]
    _write(folder, fixed_emails)
    second = _run_operation(platform, datastore, "scan")
    resolved = _ok(platform, "GET", f"/api/anomalies/{nulls}")
    assert (resolved["status"], resolved["archived"], resolved["last_operation_id"]) == (
        "Resolved",
        True,
        first,
    )
    still = _ok(platform, "GET", f"/api/anomalies/{ages}")
    assert (still["status"], still["last_operation_id"]) == ("Active", second)
    assert [a["id"] for a in _listed(qualytics, datastore)] == [ages]
    assert nulls in {a["id"] for a in _listed(qualytics, datastore, "--status", "Resolved")}

    # The ages are fixed too, but the client's scan asks not to resolve: it stays open.
    _write(folder, [{**r, "age": 30} for r in fixed_emails])
    result = subprocess.run(
        [
            str(qualytics.executable), "operations", "scan", "--datastore-id", str(datastore),
            "--no-auto-resolve-passed-anomalies", "--poll-interval", "1",
        ],
        env=qualytics.env, capture_output=True, text=True, timeout=OPERATION_TIMEOUT + 60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0 and "Successfully Finished Scan" in result.stdout, (
        result.stdout + result.stderr
    )
    kept = _ok(platform, "GET", f"/api/anomalies/{ages}")
    assert (kept["status"], kept["last_operation_id"]) == ("Active", second)
