"""Operations end to end: queued on the broker, run by the dataplane, surviving restarts."""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import Platform, wait_until
from tests.services import RABBITMQ_URL

pytestmark = pytest.mark.e2e

FILES = 6
ROWS = 5_000
FIELDS = 4  # id, name, amount, email


def _write_files(folder: Path) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(7)
    for index in range(FILES):
        with (folder / f"part_{index:02d}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "name", "amount", "email"])
            for row in range(ROWS):
                email = "" if row % 97 == 0 else f"user{row}@example.com"
                writer.writerow([row, f"name-{rng.randint(0, 500)}", rng.randint(0, 10_000), email])


@pytest.fixture(params=["filesystem", "rabbitmq"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Platform]:
    instance = Platform(
        data_dir=tmp_path / "data",
        broker_url=None if request.param == "filesystem" else RABBITMQ_URL,
        extra_env={"DQP_THREAD_POOL_PARALLELISM": "1", "DQP_SHUTDOWN_GRACE_SECONDS": "20"},
    )
    _write_files(tmp_path / "files")
    instance.start("up", "up")
    instance.wait_api()
    instance.token = instance.issue_token("admin")
    instance.wait_dataplane_healthy()
    try:
        yield instance
    finally:
        instance.stop_all()


def _api(platform: Platform, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return platform.request(method, path, timeout=20, **kwargs)


def _datastore(platform: Platform) -> int:
    folder = platform.data_dir.parent / "files"
    response = _api(
        platform,
        "POST",
        "/api/datastores",
        json={
            "name": "files",
            "kind": "files",
            "path": str(folder),
            "file_format": "csv",
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _run(platform: Platform, datastore_id: int, kind: str) -> int:
    response = _api(
        platform, "POST", "/api/operations/run", json={"type": kind, "datastore_id": datastore_id}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] == "queued"
    return int(body["id"])


def _operation(platform: Platform, operation_id: int) -> dict[str, Any]:
    response = _api(platform, "GET", f"/api/operations/{operation_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait_running(platform: Platform, operation_id: int) -> None:
    def running() -> bool:
        body = _operation(platform, operation_id)
        return body["result"] == "running" and body["status"]["containers_analyzed"] >= 1

    wait_until(running, 120, interval=0.3)


def _wait_all_ended(platform: Platform, ids: list[int]) -> list[dict[str, Any]]:
    def ended() -> list[dict[str, Any]] | None:
        bodies = [_operation(platform, operation_id) for operation_id in ids]
        return bodies if all(body["end_time"] for body in bodies) else None

    result: list[dict[str, Any]] = wait_until(ended, 300, interval=1.0)
    return result


def _profile_rows(platform: Platform, operation_id: int) -> int:
    with sqlite3.connect(platform.data_dir / "dqp.db") as db:
        (count,) = db.execute(
            "SELECT count(*) FROM field_profiles WHERE operation_id = ?", (operation_id,)
        ).fetchone()
    return int(count)


def _assert_done_once(platform: Platform, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        assert body["result"] == "success", body
        assert body["status"]["total_containers"] == FILES
        assert body["status"]["containers_analyzed"] == FILES
        if body["type"] == "profile":
            assert body["status"]["records_processed"] == FILES * ROWS
            # Stored exactly once, however often the work was delivered.
            assert _profile_rows(platform, body["id"]) == FILES * FIELDS


@pytest.mark.timeout(900)
def test_a_restart_and_a_sigkill_mid_operation_lose_nothing(platform: Platform) -> None:
    datastore_id = _datastore(platform)
    first = [_run(platform, datastore_id, kind) for kind in ("profile", "profile", "catalog")]
    _wait_running(platform, first[0])
    expected = f"1 running operations [op-{first[0]}] with 2 queued requests"

    # The status may be up to one coalescing window old, and the dataplane reads the broker's
    # queue depth at least once a second: the count settles within a few seconds.
    def one_running_two_queued() -> str | None:
        state = str(platform.status()["dataplane_healthcheck"]["thread_pool_state"])  # type: ignore[index]
        print(f"thread_pool_state: {state}")  # shown if the test fails
        if state.startswith(expected):
            return state
        assert f"[op-{first[0]}]" in state, f"op-{first[0]} ended before the count settled: {state}"
        return None

    wait_until(one_running_two_queued, 5, interval=0.3)

    assert platform.put("/api/admin/restart").status_code == 200
    _assert_done_once(platform, _wait_all_ended(platform, first))

    second = [_run(platform, datastore_id, kind) for kind in ("profile", "profile", "sync")]
    _wait_running(platform, second[0])
    pid = platform.dataplane_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    bodies = _wait_all_ended(platform, second)
    _assert_done_once(platform, bodies)
    assert bodies[2]["type"] == "catalog"


def test_abort_stops_a_running_operation_within_seconds(platform: Platform) -> None:
    datastore_id = _datastore(platform)
    operation_id = _run(platform, datastore_id, "profile")
    _wait_running(platform, operation_id)
    asked = time.monotonic()
    response = _api(platform, "PUT", f"/api/operations/abort/{operation_id}")
    assert response.status_code == 200, response.text
    body = wait_until(
        lambda: (b := _operation(platform, operation_id))["end_time"] and b, 30, interval=0.3
    )
    assert body["result"] == "aborted"
    assert time.monotonic() - asked < 15

    # The worker thread sends "finished" as its last step and leaves the pool right after;
    # on a busy machine the status can catch it in between, so allow it a few seconds.
    def pool_is_free() -> bool:
        state = platform.status()["dataplane_healthcheck"]["thread_pool_state"]  # type: ignore[index]
        return str(state).startswith("0 running operations []")

    wait_until(pool_is_free, 10, interval=0.3)
