"""The Status API end to end: real controlplane, dataplane and broker processes."""

from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyspark
import pytest

from tests.e2e.harness import Platform, wait_until
from tests.e2e.tcp_proxy import TcpProxy
from tests.services import RABBITMQ_URL

pytestmark = pytest.mark.e2e

DEADLINE = 2.0  # DQP_PROBE_TIMEOUT_SECONDS default
MARGIN = 1.0
STATE_PATTERN = re.compile(
    r"^(\d+) running operations \[([^\]]*)\] with (\d+) queued requests"
    r" and (\d+) provisioned channels$"
)
REPO = Path(__file__).resolve().parents[2]


def _git_hash() -> str:
    return subprocess.run(
        ["git", "log", "-1", "--format=%h"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def _start_up(platform: Platform) -> None:
    platform.start("up", "up")
    platform.wait_api()
    platform.token = platform.issue_token("admin")  # created by `dqp up` on first start


def _timed_status(platform: Platform) -> tuple[float, dict[str, object]]:
    started = time.monotonic()
    response = platform.get("/api/status")
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return elapsed, response.json()


def test_healthy_status_has_every_field_as_documented(platform: Platform) -> None:
    _start_up(platform)
    body = platform.wait_dataplane_healthy()
    assert body["database_connection"] == "OK"
    assert body["rabbitmq_connection"] == "OK"
    assert "private_routes" not in body  # no private connection exists
    dataplane = body["dataplane_healthcheck"]
    assert isinstance(dataplane, dict)
    integer_fields = [
        "driver_free_memory_mb",
        "max_executors",
        "max_memory_per_executor_mb",
        "cores_per_executor",
        "max_dataframe_size_mb",
        "thread_pool_parallelism",
    ]
    string_fields = [
        "build_date",
        "implementation_version",
        "git_hash",
        "spark_version",
        "thread_pool_state",
    ]
    assert set(dataplane) == set(integer_fields) | set(string_fields)
    for name in integer_fields:
        assert type(dataplane[name]) is int, name
    for name in string_fields:
        assert isinstance(dataplane[name], str), name
    assert dataplane["spark_version"] == pyspark.__version__
    assert dataplane["git_hash"] == _git_hash()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", dataplane["build_date"])
    assert dataplane["thread_pool_parallelism"] == 3
    assert dataplane["cores_per_executor"] == 2  # DQP_SPARK_MASTER=local[2]
    assert dataplane["max_executors"] == 1  # local mode: the driver is the one executor
    # spark.driver.memory=512m: the JVM's max heap is a little under it.
    assert 256 <= dataplane["max_memory_per_executor_mb"] <= 512
    assert 0 < dataplane["driver_free_memory_mb"] <= dataplane["max_memory_per_executor_mb"]
    match = STATE_PATTERN.fullmatch(dataplane["thread_pool_state"])
    assert match, dataplane["thread_pool_state"]
    assert match.group(1) == "0" and match.group(2) == "" and match.group(3) == "0"
    assert int(match.group(4)) >= 2  # the control consumer and the reply publisher


def test_stopped_dataplane_is_unhealthy_within_the_deadline(platform: Platform) -> None:
    platform.start("controlplane", "controlplane")
    platform.wait_api()
    platform.token = platform.create_admin()
    platform.start("dataplane", "dataplane")
    platform.wait_dataplane_healthy()
    assert platform.stop("dataplane") == 0  # SIGTERM: a graceful exit
    assert "stopped" in platform.log("dataplane")
    time.sleep(0.5)  # let the cached healthy result age out
    elapsed, body = _timed_status(platform)
    assert body["dataplane_healthcheck"] == "UNHEALTHY"
    assert body["database_connection"] == "OK"
    assert body["rabbitmq_connection"] == "OK"
    assert elapsed <= DEADLINE + MARGIN
    details = platform.get("/api/status/details").json()
    assert details["dataplane"]["state"] == "UNHEALTHY"
    assert "no answer within" in details["dataplane"]["reason"]


def test_restart_brings_a_new_dataplane_and_a_burst_restarts_once(platform: Platform) -> None:
    _start_up(platform)
    platform.wait_dataplane_healthy()
    first_pid = platform.dataplane_pid()
    for role in ("member", "manager"):
        platform.run_cli(
            "user",
            "add",
            f"a-{role}",
            "--role",
            role,
            "--password-stdin",
            stdin="a long enough password\n",
        )
        refused = platform.put("/api/admin/restart", token=platform.issue_token(f"a-{role}"))
        assert refused.status_code == 403, refused.text
    assert platform.dataplane_pid() == first_pid  # refused calls restarted nothing

    response = platform.put("/api/admin/restart")
    assert response.status_code == 200
    assert response.content == b""
    wait_until(lambda: platform.status()["dataplane_healthcheck"] == "UNHEALTHY", 30, 0.1)
    platform.wait_dataplane_healthy()
    second_pid = platform.dataplane_pid()
    assert second_pid not in (None, first_pid)
    details = platform.get("/api/status/details").json()
    assert details["last_restart"]["requested_by"] == "admin"
    assert details["last_restart"]["delivered"] is True

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda _: platform.put("/api/admin/restart").status_code, range(20)))
    assert codes == [200] * 20
    wait_until(lambda: platform.status()["dataplane_healthcheck"] == "UNHEALTHY", 30, 0.1)
    platform.wait_dataplane_healthy()
    third_pid = platform.dataplane_pid()
    assert third_pid not in (None, second_pid)
    # No restart loop: the leftover commands of the burst never stop the new dataplane.
    watch_until = time.monotonic() + 12
    while time.monotonic() < watch_until:
        assert isinstance(platform.status()["dataplane_healthcheck"], dict)
        time.sleep(0.5)
    assert platform.dataplane_pid() == third_pid
    assert platform.log("up").count("restart #") == 2


def test_broker_outage_and_recovery(tmp_path: Path) -> None:
    """RabbitMQ taken away (behind a proxy that cuts every connection), then given back."""
    upstream = httpx.URL(RABBITMQ_URL.replace("amqp://", "http://"))
    proxy = TcpProxy(upstream.host, upstream.port or 5672)
    proxy.start()
    platform = Platform(
        data_dir=tmp_path / "data",
        broker_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}{upstream.path}",
    )
    try:
        _start_up(platform)
        platform.wait_dataplane_healthy()
        controlplane_pid = platform.processes["up"].pid
        proxy.stop()
        time.sleep(0.5)
        for _ in range(3):
            elapsed, body = _timed_status(platform)
            assert elapsed <= DEADLINE + MARGIN
            if body["rabbitmq_connection"] == "UNHEALTHY":
                break
        assert body["rabbitmq_connection"] == "UNHEALTHY"
        assert body["dataplane_healthcheck"] == "UNHEALTHY"
        assert body["database_connection"] == "OK"
        refused = platform.put("/api/admin/restart")
        assert refused.status_code == 503
        assert "restart not sent" in refused.json()["detail"]
        assert "guest:guest" not in refused.text
        proxy.start()
        body = platform.wait_dataplane_healthy(timeout=60)
        assert body["rabbitmq_connection"] == "OK"
        assert platform.processes["up"].pid == controlplane_pid
    finally:
        platform.stop_all()
        proxy.stop()
