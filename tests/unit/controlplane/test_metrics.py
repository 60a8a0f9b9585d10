"""GET /api/metrics: access, component health, dataplane pool, restarts, probes, operations."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.operations import service as operations_service
from dqplatform.controlplane.platform import metrics
from dqplatform.controlplane.platform.probes import ProbeResult
from dqplatform.messaging.schemas import DataplaneStatus, HealthReply, PoolState
from tests.conftest import SettingsFactory
from tests.helpers import bearer, token_for

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _samples(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def _scrape(client: TestClient, token: str | None = None) -> Samples:
    response = client.get("/api/metrics", headers=bearer(token) if token else {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return _samples(response.text)


def _reply(pool: PoolState | None) -> HealthReply:
    return HealthReply(
        in_reply_to="probe-1",
        boot_id="boot-1234",
        pid=4321,
        started_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        status=DataplaneStatus(
            build_date="2026-05-01",
            implementation_version="1.2.3",
            git_hash="abc1234",
            spark_version="4.0.0",
            driver_free_memory_mb=300,
            max_executors=2,
            max_memory_per_executor_mb=512,
            cores_per_executor=1,
            max_dataframe_size_mb=2048,
            thread_pool_parallelism=4,
            thread_pool_state=pool.describe() if pool else "busy",
        ),
        pool=pool,
    )


def test_public_by_default_with_the_components_as_probed(make_settings: SettingsFactory) -> None:
    settings = make_settings(probe_timeout_seconds=0.3, status_cache_seconds=60)
    with TestClient(create_app(settings)) as client:
        samples = _scrape(client)  # no token at all
    assert _value(samples, "dqp_component_up", component="database") == 1
    assert _value(samples, "dqp_component_up", component="broker") == 1
    # No dataplane runs: it is down, and none of its readings are made up.
    assert _value(samples, "dqp_component_up", component="dataplane") == 0
    assert not any(name.startswith("dqp_dataplane_pool") for name, _ in samples)
    assert _value(samples, "dqp_operations_queue_depth") == 0


def test_members_only_when_not_public(make_settings: SettingsFactory) -> None:
    settings = make_settings(metrics_public=False, probe_timeout_seconds=0.3)
    token = token_for(settings, "mia", Role.MEMBER)
    with TestClient(create_app(settings)) as client:
        refused = client.get("/api/metrics")
        assert refused.status_code == 401
        assert refused.json()["detail"] == "missing bearer token"
        assert client.get("/api/metrics", headers=bearer("not-a-token")).status_code == 401
        samples = _scrape(client, token)
    assert _value(samples, "dqp_component_up", component="database") == 1


def test_dataplane_readings_and_pool_usage_come_from_its_last_reply(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(probe_timeout_seconds=0.3, status_cache_seconds=60)
    pool = PoolState(running=["op-7", "op-9"], queued_requests=3, provisioned_channels=8)
    with TestClient(create_app(settings)) as client:
        status = client.app.state.platform.status  # type: ignore[attr-defined]
        # The result the coalesced probe would keep after the dataplane answered.
        status.dataplane.last = ProbeResult(True, 3.0, datetime.now(UTC), value=_reply(pool))
        runs = status.dataplane.runs
        samples = _scrape(client)
        assert status.dataplane.runs == runs  # a fresh result is reused: no probe per scrape
    assert _value(samples, "dqp_component_up", component="dataplane") == 1
    assert _value(samples, "dqp_dataplane_pool_running") == 2
    assert _value(samples, "dqp_dataplane_pool_queued") == 3
    assert _value(samples, "dqp_dataplane_broker_channels") == 8
    assert _value(samples, "dqp_dataplane_pool_parallelism") == 4
    assert _value(samples, "dqp_dataplane_executors") == 2
    assert _value(samples, "dqp_dataplane_executor_cores") == 1
    assert _value(samples, "dqp_dataplane_executor_memory_bytes") == 512 * 1024 * 1024
    assert _value(samples, "dqp_dataplane_driver_free_memory_bytes") == 300 * 1024 * 1024
    info = {"boot_id": "boot-1234", "implementation_version": "1.2.3", "spark_version": "4.0.0"}
    assert _value(samples, "dqp_dataplane_info", **info) == 1
    started = datetime(2026, 5, 1, 12, 0, tzinfo=UTC).timestamp()
    assert _value(samples, "dqp_dataplane_start_time_seconds") == started


def test_a_reply_without_pool_numbers_leaves_the_pool_figures_out() -> None:
    # An older dataplane sends only the text; the metrics never parse it.
    names = {family.name for family in metrics.dataplane_families(_reply(None))}
    assert "dqp_dataplane_executors" in names
    assert not {"dqp_dataplane_pool_running", "dqp_dataplane_pool_queued"} & names


def test_restarts_are_counted_by_who_asked(make_settings: SettingsFactory) -> None:
    settings = make_settings(probe_timeout_seconds=0.5)
    token = token_for(settings, "ada-metrics", Role.ADMIN)
    with TestClient(create_app(settings)) as client:
        before = _scrape(client)
        labels = {"requested_by": "ada-metrics", "delivered": "true"}
        assert _value(before, "dqp_dataplane_restart_requests_total", **labels) is None
        for _ in range(2):
            assert client.put("/api/admin/restart", headers=bearer(token)).status_code == 200
        after = _scrape(client)
    assert _value(after, "dqp_dataplane_restart_requests_total", **labels) == 2


def test_probe_latencies_are_observed_per_component_and_outcome(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(probe_timeout_seconds=0.2, status_cache_seconds=0)
    with TestClient(create_app(settings)) as client:
        first = _scrape(client)
        second = _scrape(client)  # cache age 0: every scrape probes once more
        # A re-check of a component that just failed does not hold the scrape up (it gets
        # the last failure after 0.1 s): it is observed once it ends, before this scrape.
        time.sleep(0.5)
        third = _scrape(client)
    count = "dqp_probe_duration_seconds_count"
    for component, result, later in (("database", "ok", second), ("dataplane", "failed", third)):
        before = _value(first, count, component=component, result=result) or 0
        assert before >= 1
        assert _value(later, count, component=component, result=result) == before + 1
    # The silent dataplane took the whole deadline, and the histogram says so.
    total = _value(third, "dqp_probe_duration_seconds_sum", component="dataplane", result="failed")
    assert total is not None and total >= 0.2 * 2 * 0.9


def _files_datastore(client: TestClient, token: str, folder: Path) -> int:
    folder.mkdir(exist_ok=True)
    (folder / "a.csv").write_text("id\n1\n")
    response = client.post(
        "/api/datastores",
        headers=bearer(token),
        json={"name": "files", "kind": "files", "path": str(folder), "file_format": "csv"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_operations_by_type_and_result_and_the_queue_depth(
    make_settings: SettingsFactory, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url=database_url, probe_timeout_seconds=0.5)
    token = token_for(settings, "ops-admin", Role.ADMIN)
    with TestClient(create_app(settings)) as client:
        datastore = _files_datastore(client, token, tmp_path / "files")
        for kind in ("profile", "profile", "sync"):
            response = client.post(
                "/api/operations/run",
                headers=bearer(token),
                json={"type": kind, "datastore_id": datastore},
            )
            assert response.status_code == 200, response.text
        samples = _scrape(client)
    # No dataplane runs, so all three wait.
    assert _value(samples, "dqp_operations", type="profile", result="queued") == 2
    assert _value(samples, "dqp_operations", type="catalog", result="queued") == 1
    assert _value(samples, "dqp_operations", type="scan", result="success") == 0
    assert _value(samples, "dqp_operations_queue_depth") == 3


def test_a_database_that_does_not_answer_leaves_operations_out_in_time(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stuck(_session: object) -> dict[tuple[str, str], int]:
        time.sleep(1.0)
        return {}

    settings = make_settings(probe_timeout_seconds=0.3)
    # What the app hands the metrics' operation counter.
    monkeypatch.setattr(operations_service, "count_operations", stuck)
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        samples = _scrape(client)
        elapsed = time.monotonic() - started
    assert elapsed < 0.9
    assert _value(samples, "dqp_component_up", component="database") == 1
    assert not any(name.startswith("dqp_operations") for name, _ in samples)


# Two worker processes (a fork: pids differ as with uvicorn's workers) count one restart
# each; then the parent collects as any worker answering a scrape would.
_TWO_WORKERS = """
import os, sys
from prometheus_client import generate_latest
from dqplatform.controlplane.platform.metrics import _event_families, _Families, count_restart
child = os.fork()
count_restart("ada", True)
if child == 0:
    os._exit(0)
os.waitpid(child, 0)
sys.stdout.write(generate_latest(_Families(list(_event_families()))).decode())
"""


def test_several_workers_add_up_through_the_shared_files(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    (settings.data_dir / "metrics").mkdir(parents=True)
    (settings.data_dir / "metrics" / "counter_999.db").write_bytes(b"left from an earlier run")
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    folder = metrics.prepare_multiprocess(settings)
    assert os.environ[metrics.MULTIPROC_ENV] == str(folder)
    monkeypatch.delenv(metrics.MULTIPROC_ENV)  # this process stays as it was
    assert list(folder.iterdir()) == []
    env = {**os.environ, metrics.MULTIPROC_ENV: str(folder)}

    result = subprocess.run(
        [sys.executable, "-c", _TWO_WORKERS], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert len(list(folder.glob("counter_*.db"))) == 2  # one file per process
    samples = _samples(result.stdout)
    labels = {"requested_by": "ada", "delivered": "true"}
    assert _value(samples, "dqp_dataplane_restart_requests_total", **labels) == 2
