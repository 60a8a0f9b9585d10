"""The dataplane on a Spark standalone cluster: a master and two workers on loopback."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pyspark
import pytest

from tests.e2e.harness import Platform, free_port, wait_until

pytestmark = pytest.mark.e2e

SPARK_HOME = Path(pyspark.__file__).resolve().parent
WORKERS = 2
WORKER_CORES = 1
WORKER_MEMORY = "1g"
EXECUTOR_MEMORY_MB = 512
ROWS = 5_000
CLUSTER_TIMEOUT = 120.0


@dataclass
class SparkCluster:
    """A standalone master and its workers, each a JVM in a process group of its own."""

    folder: Path
    port: int = field(default_factory=free_port)
    webui_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(self.folder / "logs"),
            "SPARK_DAEMON_MEMORY": "256m",
            # No REST submission server: nothing here needs it, and its port is fixed (6066).
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
        }

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - kept with the process
        command = [str(SPARK_HOME / "bin" / "spark-class"), *args]
        self.processes.append(
            subprocess.Popen(
                command,
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self) -> None:
        self.folder.mkdir(parents=True)
        self._spawn(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--webui-port", str(self.webui_port),
        )  # fmt: skip
        for number in range(1, WORKERS + 1):
            self._spawn(
                f"worker-{number}",
                "org.apache.spark.deploy.worker.Worker",
                self.url,
                "--host", "127.0.0.1",
                "--cores", str(WORKER_CORES),
                "--memory", WORKER_MEMORY,
                "--webui-port", str(free_port()),
                "--work-dir", str(self.folder / f"work-{number}"),
            )  # fmt: skip

    def state(self) -> dict[str, Any] | None:
        """The master's own account of itself (its web UI's JSON), None until it answers."""
        try:
            response = httpx.get(f"http://127.0.0.1:{self.webui_port}/json/", timeout=2)
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def executor_logs(self) -> list[Path]:
        return sorted(self.folder.glob("work-*/app-*/*/stderr"))

    def stop(self) -> None:
        # A worker's executors are its children, in its process group: they go with it.
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def leftovers(self) -> list[psutil.Process]:
        """Processes still running from this cluster: any whose command line names its folder
        or its master's port (executors name the driver, not the master, but run in a work
        dir of ours)."""
        marks = (str(self.folder), f"127.0.0.1:{self.port}")
        found = []
        for process in psutil.process_iter(["cmdline", "cwd"]):
            with contextlib.suppress(psutil.Error):
                text = " ".join(process.info["cmdline"] or []) + " " + (process.info["cwd"] or "")
                if any(mark in text for mark in marks):
                    found.append(process)
        return found


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SparkCluster]:
    instance = SparkCluster(tmp_path / "spark")
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
        left = instance.leftovers()
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
        assert not left, f"Spark processes outlived the test: {[p.pid for p in left]}"


def _write_csv(folder: Path) -> None:
    folder.mkdir()
    # One file: one container to profile, so the test waits on as few Spark jobs as it can.
    with (folder / "sales.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "city", "amount"])
        for row in range(ROWS):
            writer.writerow([row, f"city-{row % 37}", row * 3 % 1000])


def _api(platform: Platform, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {platform.token}"}
    return httpx.request(method, platform.url + path, headers=headers, timeout=20, **kwargs)


def _profile(platform: Platform, folder: Path) -> dict[str, Any]:
    created = _api(
        platform,
        "POST",
        "/api/datastores",
        json={"name": "cluster-files", "kind": "files", "path": str(folder), "file_format": "csv"},
    )
    assert created.status_code == 201, created.text
    run = _api(
        platform,
        "POST",
        "/api/operations/run",
        json={"type": "profile", "datastore_id": created.json()["id"]},
    )
    assert run.status_code == 200, run.text
    operation_id = run.json()["id"]

    def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = _api(platform, "GET", f"/api/operations/{operation_id}").json()
        return body if body["end_time"] else None

    result: dict[str, Any] = wait_until(ended, 120, interval=0.5)
    return result


@pytest.mark.timeout(420)
def test_the_status_reads_the_clusters_executors_and_a_profile_runs_on_them(
    cluster: SparkCluster, tmp_path: Path
) -> None:
    spark_conf = ",".join(
        [
            f"spark.executor.memory={EXECUTOR_MEMORY_MB}m",
            # Executors reach the driver on loopback, and run Python with our interpreter.
            "spark.driver.host=127.0.0.1",
            "spark.driver.bindAddress=127.0.0.1",
            f"spark.pyspark.python={sys.executable}",
        ]
    )
    platform = Platform(
        data_dir=tmp_path / "data",
        broker_url=None,
        extra_env={
            "DQP_SPARK_MASTER": cluster.url,
            "DQP_SPARK_CONF": spark_conf,
            "SPARK_LOCAL_IP": "127.0.0.1",
        },
    )
    _write_csv(tmp_path / "files")
    try:
        platform.start("controlplane", "controlplane")  # starts while the cluster does
        wait_until(lambda: (state := cluster.state()) and state["status"] == "ALIVE", 90)
        platform.start("dataplane", "dataplane")
        platform.wait_api()
        platform.token = platform.create_admin()

        def registered() -> dict[str, Any] | None:
            body = platform.status()["dataplane_healthcheck"]
            return body if isinstance(body, dict) and body["max_executors"] == WORKERS else None

        status: dict[str, Any] = wait_until(registered, CLUSTER_TIMEOUT, interval=0.5)
        # The figures the workers were started with, read live from the cluster.
        assert status["max_executors"] == WORKERS
        assert status["cores_per_executor"] == WORKER_CORES
        assert status["max_memory_per_executor_mb"] == EXECUTOR_MEMORY_MB
        assert status["spark_version"] == pyspark.__version__
        master = cluster.state()
        assert master is not None
        assert master["aliveworkers"] == WORKERS
        (app,) = master["activeapps"]
        assert app["name"] == "dqplatform-dataplane"
        assert app["cores"] == WORKERS * WORKER_CORES
        assert app["memoryperexecutor"] == EXECUTOR_MEMORY_MB

        body = _profile(platform, tmp_path / "files")
        assert body["result"] == "success", body
        assert body["status"]["records_processed"] == ROWS
        # The work ran in the workers' executors, not in the driver.
        logs = cluster.executor_logs()
        assert len(logs) == WORKERS
        assert sum(log.read_text(errors="replace").count("Running task") for log in logs) > 0
    finally:
        platform.stop_all()
