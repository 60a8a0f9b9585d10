"""A data operation kept running through a fault, and the proof it ended once, with its result."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.e2e.harness import wait_until
from tests.faults.live import LivePlatform

FILES, ROWS, FIELDS = 8, 20_000, 4  # long enough to be caught running on a loaded machine


def write_files(folder: Path) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(11)
    for index in range(FILES):
        with (folder / f"part_{index:02d}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "name", "amount", "email"])
            for row in range(ROWS):
                email = "" if row % 89 == 0 else f"user{row}@example.com"
                writer.writerow([row, f"name-{rng.randint(0, 300)}", rng.randint(0, 9999), email])


def files_datastore(platform: LivePlatform, folder: Path) -> int:
    write_files(folder)
    created = platform.api(
        "POST",
        "/api/datastores",
        json={"name": "faults", "kind": "files", "path": str(folder), "file_format": "csv"},
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@dataclass
class InFlight:
    """A profile of the files datastore, started and caught running before the fault."""

    platform: LivePlatform
    datastore_id: int
    database_url: str  # reached directly, not through any proxy the test cuts
    operation_id: int = 0

    def start(self) -> None:
        response = self.platform.api(
            "POST",
            "/api/operations/run",
            json={"type": "profile", "datastore_id": self.datastore_id},
        )
        assert response.status_code == 200, response.text
        self.operation_id = int(response.json()["id"])

        def running() -> bool:
            body = self.read()
            assert body["end_time"] is None, f"it ended before the fault: {body}"
            return body["result"] == "running" and body["status"]["containers_analyzed"] >= 1

        wait_until(running, 180, interval=0.2)

    def read(self) -> dict[str, Any]:
        response = self.platform.api("GET", f"/api/operations/{self.operation_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def assert_done_once(self, timeout: float = 300) -> dict[str, Any]:
        """It ended with success, every record counted once and its profile stored once."""
        body: dict[str, Any] = wait_until(
            lambda: (b := self.read())["end_time"] and b, timeout, interval=1.0
        )
        assert body["result"] == "success", body
        assert body["status"]["containers_analyzed"] == FILES, body
        assert body["status"]["records_processed"] == FILES * ROWS, body
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                stored = connection.execute(
                    text("SELECT count(*) FROM field_profiles WHERE operation_id = :id"),
                    {"id": self.operation_id},
                ).scalar_one()
        finally:
            engine.dispose()
        assert stored == FILES * FIELDS, f"{stored} profile rows for one operation"
        return body
