"""Soak: GET /api/status at 100 requests a second for DQP_SOAK_SECONDS (180 unless set; `make
test-faults` sets it), five dataplane restarts spread over the run and a stream of data
operations, on `dqp up` over PostgreSQL and RabbitMQ.

Zero errors (every answer a 200, every one within the probe deadline + 10%), every operation
ends once with success, and the controlplane's memory stays flat: its resident size at the end
is within RSS_GROWTH_LIMIT of what it was once warmed up.
"""

from __future__ import annotations

import csv
import os
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.harness import wait_until
from tests.faults.conftest import Figures, fresh_postgres, rabbitmq_url
from tests.faults.ledger import SecretLedger
from tests.faults.live import LivePlatform, secret_env
from tests.faults.load import StatusLoad
from tests.faults.verdict import LATENCY_LIMIT

SOAK_SECONDS = float(os.environ.get("DQP_SOAK_SECONDS", "180"))
RATE = 100.0
RESTARTS = 5
OPERATION_EVERY_SECONDS = 15.0
RSS_SAMPLE_SECONDS = 2.0
# The share of the run left out of the baseline: imports, first probes, first operations.
WARM_UP_SHARE = 0.2
RSS_GROWTH_LIMIT = 16 * 1024 * 1024
FILES, ROWS, FIELDS = 2, 500, 3

pytestmark = pytest.mark.timeout(int(SOAK_SECONDS) + 900)


@pytest.fixture
def platform(
    tmp_path: Path, ledger: SecretLedger, rabbitmq_credentials: tuple[str, str]
) -> Iterator[tuple[LivePlatform, str]]:
    with fresh_postgres(ledger) as database_url:
        instance = LivePlatform(
            data_dir=tmp_path / "data",
            broker_url=rabbitmq_url(rabbitmq_credentials),
            extra_env={
                **secret_env(ledger),
                "DQP_DATABASE_URL": database_url(None),
                "DQP_THREAD_POOL_PARALLELISM": "1",
            },
            ledger=ledger,
        )
        try:
            instance.start_up()
            instance.wait_dataplane_healthy()
            yield instance, database_url(None)
        finally:
            instance.close()


def _files(folder: Path) -> None:
    folder.mkdir(parents=True)
    for index in range(FILES):
        with (folder / f"part_{index}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "name", "amount"])
            writer.writerows([row, f"name-{row % 37}", row * 3] for row in range(ROWS))


class OperationStream:
    """Runs a profile of a small files datastore every OPERATION_EVERY_SECONDS."""

    def __init__(self, platform: LivePlatform, datastore_id: int):
        self.platform = platform
        self.datastore_id = datastore_id
        self.ids: list[int] = []
        self.refused: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        while not self._stop.wait(OPERATION_EVERY_SECONDS):
            response = self.platform.api(
                "POST",
                "/api/operations/run",
                json={"type": "profile", "datastore_id": self.datastore_id},
            )
            if response.status_code == 200:
                self.ids.append(int(response.json()["id"]))
            else:
                self.refused.append(f"{response.status_code} {response.text}")

    def wait_ended(self, timeout: float) -> list[dict[str, Any]]:
        def ended() -> list[dict[str, Any]] | None:
            bodies = [self.platform.api("GET", f"/api/operations/{i}").json() for i in self.ids]
            return bodies if all(body["end_time"] for body in bodies) else None

        result: list[dict[str, Any]] = wait_until(ended, timeout, interval=2.0)
        return result


def _profile_rows(database_url: str, operation_id: int) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = text("SELECT count(*) FROM field_profiles WHERE operation_id = :id")
            return int(connection.execute(query, {"id": operation_id}).scalar_one())
    finally:
        engine.dispose()


def test_status_under_load_with_restarts_and_operations(
    platform: tuple[LivePlatform, str], figures: Figures
) -> None:
    live, database_url = platform
    folder = live.data_dir.parent / "files"
    _files(folder)
    created = live.api(
        "POST",
        "/api/datastores",
        json={"name": "soak", "kind": "files", "path": str(folder), "file_format": "csv"},
    )
    assert created.status_code == 201, created.text
    stream = OperationStream(live, int(created.json()["id"]))
    restarts_before = live.dataplane_restarts()
    load = StatusLoad(live.url, live.token, rate=RATE)
    rss: list[tuple[float, int]] = []

    started = time.monotonic()
    load.start()
    stream.start()
    try:
        for index in range(RESTARTS):
            due = started + SOAK_SECONDS * (index + 0.5) / RESTARTS
            while time.monotonic() < due:
                rss.append((time.monotonic() - started, live.rss_of("controlplane")))
                time.sleep(RSS_SAMPLE_SECONDS)
            # A restart sent while no dataplane runs is dropped by design: wait for one.
            live.wait_dataplane_healthy(timeout=180)
            assert live.api("PUT", "/api/admin/restart").status_code == 200
        while time.monotonic() < started + SOAK_SECONDS:
            rss.append((time.monotonic() - started, live.rss_of("controlplane")))
            time.sleep(RSS_SAMPLE_SECONDS)
    finally:
        load.stop()
        stream.stop()
    elapsed = time.monotonic() - started

    live.wait_dataplane_healthy(timeout=180)
    operations = stream.wait_ended(timeout=600)

    # Zero errors, every answer in time.
    timeline = f"(answers, errors, slowest) per 10 s: {load.timeline()}"
    assert len(load.answers) >= RATE * elapsed * 0.95, f"{len(load.answers)} answers; {timeline}"
    assert not load.errors(), f"errors: {dict(load.errors())}; {timeline}"
    slowest = max(answer.latency for answer in load.answers)
    assert slowest <= LATENCY_LIMIT, f"slowest answer {slowest:.3f} s; {timeline}"
    # Five restarts happened (and no more), and every operation ran to success exactly once.
    assert live.dataplane_restarts() - restarts_before == RESTARTS
    assert not stream.refused, stream.refused
    assert operations, "no operation was run"
    for body in operations:
        assert body["result"] == "success", body
        assert body["status"]["records_processed"] == FILES * ROWS, body
        assert _profile_rows(database_url, body["id"]) == FIELDS * FILES, body
    # Memory flat: the end against the warmed-up baseline (medians, to ride over one GC).
    warm = [size for at, size in rss if at >= SOAK_SECONDS * WARM_UP_SHARE]
    baseline = statistics.median(warm[: max(3, len(warm) // 5)])
    final = statistics.median(warm[-max(3, len(warm) // 10) :])
    growth = final - baseline
    assert growth <= RSS_GROWTH_LIMIT, f"controlplane RSS grew by {growth / 2**20:.1f} MiB"

    name = f"soak {SOAK_SECONDS:.0f} s at {RATE:.0f} req/s"
    figures(name, "requests / errors", f"{len(load.answers)} / {sum(load.errors().values())}")
    figures(
        name,
        "latency p50 / p99 / max",
        (
            f"{load.latency(0.5) * 1000:.0f} / {load.latency(0.99) * 1000:.0f} / "
            f"{slowest * 1000:.0f} ms"
        ),
    )
    figures(name, "restarts / operations (all success)", f"{RESTARTS} / {len(operations)}")
    figures(
        name,
        "controlplane RSS warm -> end",
        (f"{baseline / 2**20:.1f} -> {final / 2**20:.1f} MiB ({growth / 2**20:+.1f} MiB)"),
    )
