"""Two controlplanes over one PostgreSQL and one RabbitMQ, with one dataplane between them."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import Platform, wait_until
from tests.services import RABBITMQ_URL

pytestmark = pytest.mark.e2e

ADMIN = "root-admin"
# The one DataplaneStatus field that is a moment's reading of a live heap.
LIVE_FIELDS = {"driver_free_memory_mb"}


@dataclass
class Deployment:
    """Two controlplanes (`a`, `b`) and the dataplane processes started one after another."""

    a: Platform
    b: Platform
    dataplanes: int = 0

    def start_dataplane(self) -> str:
        self.dataplanes += 1
        name = f"dataplane-{self.dataplanes}"
        self.a.start(name, "dataplane")
        return name

    def stop_all(self) -> None:
        self.a.stop_all()
        self.b.stop_all()


@pytest.fixture
def deployment(tmp_path: Path, postgres_url: str) -> Iterator[Deployment]:
    # What the controlplanes share besides the database and the broker: the secrets, which a
    # single machine would generate into its data dir.
    shared = {
        "DQP_DATABASE_URL": postgres_url,
        "DQP_JWT_SECRET": secrets.token_urlsafe(32),
        "DQP_SECRETS_KEY": secrets.token_urlsafe(32),
    }
    platforms = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        platforms.append(
            Platform(data_dir=tmp_path / name / "data", broker_url=RABBITMQ_URL, extra_env=shared)
        )
    instance = Deployment(*platforms)
    try:
        instance.a.token = instance.b.token = instance.a.create_admin(ADMIN)
        # Started together: the first start migrates the empty database, the other waits.
        instance.a.start("controlplane", "controlplane")
        instance.b.start("controlplane", "controlplane")
        instance.a.wait_api()
        instance.b.wait_api()
        yield instance
    finally:
        instance.stop_all()


def _details(platform: Platform) -> dict[str, Any]:
    response = platform.get("/api/status/details")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _healthy_boot(platform: Platform, other_than: str | None = None) -> str:
    """Wait until `platform` sees a dataplane (a new one if `other_than`); its boot id."""

    def boot() -> str | None:
        if not isinstance(platform.status()["dataplane_healthcheck"], dict):
            return None
        boot_id = _details(platform)["dataplane_boot_id"]
        return boot_id if boot_id and boot_id != other_than else None

    found: str = wait_until(boot, 120, interval=0.5)
    return found


def _metrics(platform: Platform) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(platform.url + "/api/metrics", timeout=10)  # public: no token
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _dataplane_up(platform: Platform) -> float:
    return _metrics(platform)[("dqp_component_up", frozenset({("component", "dataplane")}))]


def _metric_boot(platform: Platform) -> str | None:
    for name, labels in _metrics(platform):
        if name == "dqp_dataplane_info":
            return dict(labels)["boot_id"]
    return None


def _restart_through(
    deployment: Deployment, sender: Platform, watcher: Platform, running: str
) -> str:
    """Restart through `sender` while `watcher`'s metrics are scraped; the new boot id."""
    old_boot = _healthy_boot(watcher)
    assert _metric_boot(watcher) == old_boot and _dataplane_up(watcher) == 1
    response = sender.put("/api/admin/restart")
    assert response.status_code == 200, response.text
    assert response.content == b""
    process = deployment.a.processes[running]
    assert process.wait(60) == 0  # a graceful exit
    # Scraped while no dataplane runs: the other controlplane reports it down.
    wait_until(lambda: _dataplane_up(watcher) == 0, 30, interval=0.3)
    log = deployment.a.log(running)
    assert log.count("dataplane shutdown requested: shutdown command") == 1
    assert len(re.findall(r"dataplane \S+ stopped", log)) == 1
    assert f"from {ADMIN}" in log
    # The orchestrator's part (Kubernetes, `dqp up`): start a new one.
    deployment.start_dataplane()
    new_boot = _healthy_boot(watcher, other_than=old_boot)
    wait_until(lambda: _dataplane_up(watcher) == 1, 30, interval=0.3)
    assert _metric_boot(watcher) == new_boot
    return new_boot


def _comparable(status: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in status.items() if key not in LIVE_FIELDS}


def test_two_controlplanes_agree_share_users_and_restart_the_dataplane_once(
    deployment: Deployment,
) -> None:
    a, b = deployment.a, deployment.b
    first = deployment.start_dataplane()
    boot = _healthy_boot(a)
    assert _healthy_boot(b) == boot

    # Consistent status: one dataplane, seen alike through both.
    statuses = [a.status(), b.status()]
    for status in statuses:
        assert status["database_connection"] == "OK"
        assert status["rabbitmq_connection"] == "OK"
    readings = [status["dataplane_healthcheck"] for status in statuses]
    assert _comparable(readings[0]) == _comparable(readings[1])
    details = [_details(a), _details(b)]
    assert details[0]["dataplane_pid"] == details[1]["dataplane_pid"]
    assert details[0]["database_backend"] == details[1]["database_backend"] == "postgresql"

    # A user created through one controlplane signs in and is let in by the other at once.
    created = httpx.post(
        a.url + "/api/users",
        headers={"Authorization": f"Bearer {a.token}"},
        json={"username": "nia", "password": "a long enough password", "role": "manager"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    login = httpx.post(
        b.url + "/api/auth/login",
        json={"username": "nia", "password": "a long enough password"},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    for platform in (a, b):
        assert platform.get("/api/status/details", token=token).status_code == 200
        assert platform.put("/api/admin/restart", token=token).status_code == 403  # a manager
    # Deleted through b, refused by a once its users snapshot is refreshed
    # (DQP_AUTH_CACHE_SECONDS=1 in the harness).
    deleted = httpx.delete(
        f"{b.url}/api/users/{created.json()['id']}",
        headers={"Authorization": f"Bearer {b.token}"},
        timeout=10,
    )
    assert deleted.status_code == 204, deleted.text
    wait_until(lambda: a.get("/api", token=token).status_code == 401, 10, interval=0.3)

    # A restart through b reaches the dataplane once, and a's metrics show it go and return.
    second_boot = _restart_through(deployment, b, a, first)
    assert second_boot != boot
    assert _healthy_boot(b) == second_boot

    # No command left over stops the new dataplane: one restart, not a loop.
    time.sleep(5)
    assert deployment.a.processes["dataplane-2"].poll() is None
    assert "shutdown requested" not in deployment.a.log("dataplane-2")
    assert _details(a)["dataplane_boot_id"] == _details(b)["dataplane_boot_id"] == second_boot

    # Both read who restarted last from the shared database; each process counts the
    # requests it took itself (Prometheus adds the controlplanes up).
    restarts = (
        "dqp_dataplane_restart_requests_total",
        frozenset({("requested_by", ADMIN), ("delivered", "true")}),
    )
    assert _metrics(b).get(restarts) == 1
    assert _metrics(a).get(restarts) is None
    for platform in (a, b):
        last = _details(platform)["last_restart"]
        assert last["requested_by"] == ADMIN and last["delivered"] is True
