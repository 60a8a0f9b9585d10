"""qualytics-cli 1.2.2 runs sync, profile and scan on a live dqplatform with its dataplane.

Each command starts an operation, waits for it the client's way (polling
GET /api/operations/{id} until `end_time` is set), and the test then reads what really ran
from the platform's own API: the operation's counters, the containers, the field profiles
and the anomalies.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Platform, running_up, wait_until
from tests.e2e.test_qualytics_cli import Qualytics, qualytics_venv  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CUSTOMERS, ORDERS = 1_200, 800
NO_EMAIL = range(0, CUSTOMERS, 40)  # 30 customers without an email
OUT_OF_RANGE_AGES = range(5, CUSTOMERS, 100)  # 12 customers aged 150
OPERATION_TIMEOUT = 600  # seconds; Spark on a busy two-core machine
FINISHED = re.compile(r"Successfully Finished (\w+) operation (\d+) for datastore: (\d+)")
WARNED = re.compile(r"Warning for (\w+) operation (\d+) on datastore (\d+): (.*)")


def _write_files(folder: Path) -> None:
    folder.mkdir(parents=True)
    with (folder / "customers.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email", "age"])
        for row in range(CUSTOMERS):
            email = "" if row in NO_EMAIL else f"user{row}@example.com"
            age = 150 if row in OUT_OF_RANGE_AGES else 18 + row % 60
            writer.writerow([row, f"name-{row % 300}", email, age])
    with (folder / "orders.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "customer_id", "amount"])
        for row in range(ORDERS):
            writer.writerow([row, row % CUSTOMERS, row % 500])


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """`dqp up`: a controlplane and a dataplane on the embedded broker."""
    with running_up(tmp_path_factory.mktemp("qualytics-ops") / "data") as instance:
        yield instance


@pytest.fixture(scope="module")
def personal_token(platform: Platform) -> str:
    created = platform.request(
        "POST", "/api/user-tokens", json={"name": "qualytics-ops", "expires_in_days": 1}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


@pytest.fixture
def qualytics(
    qualytics_venv: Path,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    platform: Platform,
    personal_token: str,
) -> Qualytics:
    client = Qualytics(qualytics_venv, tmp_path)
    init = client.run("auth", "init", "--url", platform.url, "--token", personal_token)
    assert init.returncode == 0 and "Configuration saved" in init.stdout, init.stdout
    return client


@pytest.fixture
def datastore(platform: Platform, tmp_path: Path) -> int:
    """A files datastore of its own for each test, on two CSV files."""
    folder = tmp_path / "files"
    _write_files(folder)
    response = platform.request(
        "POST",
        "/api/datastores",
        json={"name": tmp_path.name, "kind": "files", "path": str(folder), "file_format": "csv"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _run(qualytics: Qualytics, platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    """A waiting operations command; polls every second (the client's default is 10 s)."""
    try:
        result = subprocess.run(
            [str(qualytics.executable), "operations", *args, "--poll-interval", "1"],
            env=qualytics.env,
            capture_output=True,
            text=True,
            timeout=OPERATION_TIMEOUT + 60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # What the platform was doing, so that a hang on a CI machine can be explained.
        operations = platform.get("/api/operations?size=20").text
        status = platform.get("/api/status/details").text
        log = "\n".join(platform.log("up").splitlines()[-80:])
        raise AssertionError(
            f"qualytics operations {' '.join(args)} did not end within "
            f"{OPERATION_TIMEOUT + 60} s\noperations: {operations}\nstatus: {status}\n"
            f"last lines of the platform's log:\n{log}"
        ) from None
    # The client exits 0 even when an operation fails; its error log says why.
    errors = qualytics.config_home / "operation-error.txt"
    assert not errors.exists(), errors.read_text()
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _finished(result: subprocess.CompletedProcess[str], kind: str, datastore: int) -> int:
    match = FINISHED.search(result.stdout)
    assert match, result.stdout + result.stderr
    assert (match[1], int(match[3])) == (kind, datastore)
    return int(match[2])


def _operation(platform: Platform, operation_id: int) -> dict[str, Any]:
    response = platform.get(f"/api/operations/{operation_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _containers(platform: Platform, datastore: int) -> dict[str, dict[str, Any]]:
    response = platform.get(f"/api/containers?datastore={datastore}&size=100")
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()["items"]}


def _check(platform: Platform, datastore: int, field: str, rule: str, **properties: Any) -> int:
    """A check on customers.csv, which a catalog must have found first."""
    listing = platform.get(f"/api/containers/listing?datastore={datastore}")
    assert listing.status_code == 200, listing.text
    [container] = [c["id"] for c in listing.json() if c["name"] == "customers.csv"]
    body = {"container_id": container, "fields": [field], "rule": rule, "properties": properties}
    response = platform.request("POST", "/api/quality-checks", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_sync_profile_and_scan_run_on_the_dataplane(
    qualytics: Qualytics, platform: Platform, datastore: int
) -> None:
    sync = _finished(
        _run(qualytics, platform, "sync", "--datastore-id", str(datastore)), "Sync", datastore
    )
    body = _operation(platform, sync)
    assert (body["type"], body["result"], body["message"]) == ("catalog", "success", None)
    assert body["status"] == {
        "total_containers": 2,
        "containers_analyzed": 2,
        "records_processed": CUSTOMERS + ORDERS,
    }
    assert body["options"] == {"prune": False, "recreate": False}
    containers = _containers(platform, datastore)
    assert {name: c["record_count"] for name, c in containers.items()} == {
        "customers.csv": CUSTOMERS,
        "orders.csv": ORDERS,
    }
    assert all(c["last_operation_id"] == sync for c in containers.values())

    profile = _finished(
        _run(
            qualytics, platform, "profile", "--datastore-id", str(datastore),
            "--container-names", "customers.csv",
        ),
        "Profile",
        datastore,
    )  # fmt: skip
    body = _operation(platform, profile)
    assert (body["type"], body["result"], body["message"]) == ("profile", "success", None)
    assert body["container_names"] == ["customers.csv"]
    assert body["status"] == {
        "total_containers": 1,
        "containers_analyzed": 1,
        "records_processed": CUSTOMERS,
    }
    response = platform.get(f"/api/containers/{containers['customers.csv']['id']}/field-profiles")
    assert response.status_code == 200, response.text
    profiles = {p["field"]: p for p in response.json()}
    assert set(profiles) == {"id", "name", "email", "age"}
    assert all(p["operation_id"] == profile for p in profiles.values())
    assert all(p["record_count"] == CUSTOMERS for p in profiles.values())
    assert (profiles["email"]["nulls"], profiles["email"]["distinct"]) == (
        len(NO_EMAIL),
        CUSTOMERS - len(NO_EMAIL),
    )
    assert (profiles["id"]["min"], profiles["id"]["max"]) == ("0", str(CUSTOMERS - 1))
    assert profiles["age"]["max"] == "150" and profiles["name"]["distinct"] == 300

    not_null = _check(platform, datastore, "email", "not_null")
    between = _check(platform, datastore, "age", "between", min=18, max=99)
    scan = _finished(
        _run(qualytics, platform, "scan", "--datastore-id", str(datastore)), "Scan", datastore
    )
    body = _operation(platform, scan)
    assert (body["type"], body["result"], body["message"]) == ("scan", "success", None)
    assert body["options"] == {"incremental": False}
    # Only the container with checks is read.
    assert body["status"] == {
        "total_containers": 1,
        "containers_analyzed": 1,
        "records_processed": CUSTOMERS,
    }
    response = platform.get(f"/api/anomalies?operation={scan}&size=100")
    assert response.status_code == 200, response.text
    found = {
        a["failed_checks"][0]["quality_check"]["id"]: a["anomalous_records_count"]
        for a in response.json()["items"]
    }
    assert found == {not_null: len(NO_EMAIL), between: len(OUT_OF_RANGE_AGES)}


def test_get_list_and_abort_read_what_ran(
    qualytics: Qualytics, platform: Platform, datastore: int
) -> None:
    started = qualytics.run("operations", "sync", "--datastore-id", str(datastore), "--background")
    assert started.returncode == 0, started.stdout + started.stderr
    match = re.search(r"Started Sync operation (\d+) for datastore", started.stdout)
    assert match and "Finished" not in started.stdout, started.stdout
    sync = int(match[1])

    body = wait_until(
        lambda: (b := _operation(platform, sync))["end_time"] and b, OPERATION_TIMEOUT, 1.0
    )
    assert body["result"] == "success"

    shown = qualytics.run("operations", "get", "--id", str(sync), "--format", "json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout) == body

    today = datetime.now(UTC).date().isoformat()
    listed = qualytics.run(
        "operations", "list", "--datastore-id", str(datastore), "--type", "sync",
        "--status", "success", "--start-date", today, "--end-date", today, "--format", "json",
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Found 1 operations." in listed.stdout
    items = json.loads(listed.stdout[listed.stdout.index("[") :])
    assert [item["id"] for item in items] == [sync]

    aborted = qualytics.run("operations", "abort", "--id", str(sync))
    assert aborted.returncode == 0, aborted.stdout + aborted.stderr
    assert f"Operation {sync} already finished with result: success." in aborted.stdout
    assert _operation(platform, sync)["result"] == "success"


def test_options_this_platform_does_not_apply_come_back_as_a_warning(
    qualytics: Qualytics, platform: Platform, datastore: int
) -> None:
    _run(qualytics, platform, "sync", "--datastore-id", str(datastore))  # checks need fields
    _check(platform, datastore, "email", "not_null")
    result = _run(
        qualytics, platform, "scan", "--datastore-id", str(datastore), "--incremental",
        "--greater-than-time", "2024-01-01T00:00:00",
    )  # fmt: skip
    match = WARNED.search(result.stdout)
    assert match, result.stdout
    assert (match[1], int(match[3])) == ("scan", datastore)
    assert match[4] == (
        "options not supported by this platform were not applied: incremental, greater_than_time"
    )
    body = _operation(platform, int(match[2]))
    assert body["result"] == "success"
    assert body["options"] == {"incremental": True, "greater_than_time": "2024-01-01T00:00:00.000Z"}
    # Not incremental: every record was read.
    assert body["status"]["records_processed"] == CUSTOMERS


def test_a_sync_prunes_only_when_asked(
    qualytics: Qualytics, platform: Platform, datastore: int, tmp_path: Path
) -> None:
    _run(qualytics, platform, "sync", "--datastore-id", str(datastore))
    (tmp_path / "files" / "orders.csv").unlink()

    kept = _finished(
        _run(qualytics, platform, "sync", "--datastore-id", str(datastore)), "Sync", datastore
    )
    assert _operation(platform, kept)["status"]["total_containers"] == 1
    containers = _containers(platform, datastore)
    assert set(containers) == {"customers.csv", "orders.csv"}
    assert containers["orders.csv"]["last_operation_id"] != kept

    pruned = _finished(
        _run(qualytics, platform, "sync", "--datastore-id", str(datastore), "--prune"),
        "Sync",
        datastore,
    )
    assert _operation(platform, pruned)["options"] == {"prune": True, "recreate": False}
    assert set(_containers(platform, datastore)) == {"customers.csv"}


@pytest.mark.parametrize(
    ("command", "extra"),
    [("materialize", []), ("export", ["--asset-type", "checks"])],
)
def test_operations_the_platform_does_not_have_are_refused_clearly(
    qualytics: Qualytics, platform: Platform, datastore: int, command: str, extra: list[str]
) -> None:
    result = qualytics.run("operations", command, "--datastore-id", str(datastore), *extra)
    assert f"Failed {command.capitalize()} for datastore: {datastore}" in result.stdout
    logged = (qualytics.config_home / "operation-error.txt").read_text()
    assert "Input should be 'catalog', 'sync', 'profile' or 'scan'" in logged, logged
    response = platform.get(f"/api/operations?datastore={datastore}")
    assert response.status_code == 200 and response.json()["total"] == 0
