"""Private routes and connection tests end to end: real listeners, real dataplane."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import Platform
from tests.integration.dataplane.test_routes import Blackhole

pytestmark = pytest.mark.e2e

DEADLINE = 2.0


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    instance = Platform(data_dir=Path(tmp_path_factory.mktemp("routes")) / "data", broker_url=None)
    instance.start("up", "up")
    instance.wait_api()
    instance.token = instance.issue_token("admin")
    instance.wait_dataplane_healthy()
    try:
        yield instance
    finally:
        instance.stop_all()


def _connection(
    platform: Platform, name: str, host: str, port: int, private: bool = True, **extra: object
) -> int:
    body = {
        "type": "postgresql",
        "name": name,
        "host": host,
        "port": port,
        "private": private,
        "username": "postgres",
        "password": "not-the-real-one",
        **extra,
    }
    response = httpx.post(
        f"{platform.url}/api/connections",
        json=body,
        headers={"Authorization": f"Bearer {platform.token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _delete(platform: Platform, connection_id: int) -> None:
    response = httpx.delete(
        f"{platform.url}/api/connections/{connection_id}",
        headers={"Authorization": f"Bearer {platform.token}"},
        timeout=10,
    )
    assert response.status_code == 204, response.text


def _fresh_status(platform: Platform) -> tuple[float, dict[str, object]]:
    time.sleep(0.3)  # past DQP_STATUS_CACHE_SECONDS of the harness
    started = time.monotonic()
    body = platform.status()
    return time.monotonic() - started, body


def test_routes_open_closed_unresolvable_blackholed_and_deduplicated(platform: Platform) -> None:
    _, body = _fresh_status(platform)
    assert "private_routes" not in body  # no private connection yet

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    open_port = listener.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    hole = Blackhole()
    ids = [
        _connection(platform, "open-a", "127.0.0.1", open_port),
        _connection(platform, "open-b", "127.0.0.1", open_port),  # same route, another name
        _connection(platform, "closed", "127.0.0.1", closed_port),
        _connection(platform, "nowhere", "no-such-host.invalid", 5432),
        _connection(platform, "blackholed", "127.0.0.1", hole.port),
        _connection(platform, "public", "127.0.0.1", 1, private=False),
    ]
    try:
        elapsed, body = _fresh_status(platform)
        routes = body["private_routes"]
        assert isinstance(routes, dict)
        assert set(routes) == {
            f"127.0.0.1:{open_port}",
            f"127.0.0.1:{closed_port}",
            "no-such-host.invalid:5432",
            f"127.0.0.1:{hole.port}",
        }
        assert routes[f"127.0.0.1:{open_port}"] == "OK"
        assert routes[f"127.0.0.1:{closed_port}"] == (
            f'Attempt to reach "127.0.0.1:{closed_port}" failed with message: "Connection refused"'
        )
        assert "could not be resolved" in routes["no-such-host.invalid:5432"]
        assert "Timed out after" in routes[f"127.0.0.1:{hole.port}"]
        assert elapsed <= DEADLINE + 1.0
        assert "not-the-real-one" not in str(body)
    finally:
        for connection_id in ids:
            _delete(platform, connection_id)
        listener.close()
        hole.close()
    _, body = _fresh_status(platform)
    assert "private_routes" not in body


def test_connection_test_opens_a_real_connection(platform: Platform) -> None:
    good = _connection(platform, "pg-good", "127.0.0.1", 5432, private=False, database="postgres")
    bad = _connection(
        platform, "pg-bad", "127.0.0.1", 5432, private=False, database="no_such_database_here"
    )
    try:
        headers = {"Authorization": f"Bearer {platform.token}"}
        ok = httpx.post(f"{platform.url}/api/connections/{good}/test", headers=headers, timeout=20)
        assert ok.status_code == 200, ok.text
        assert ok.json()["connected"] is True
        failed = httpx.post(
            f"{platform.url}/api/connections/{bad}/test", headers=headers, timeout=20
        )
        assert failed.status_code == 200, failed.text
        assert failed.json()["connected"] is False
        assert "no_such_database_here" in failed.json()["message"]
        assert "not-the-real-one" not in failed.text
    finally:
        _delete(platform, good)
        _delete(platform, bad)


def test_routes_say_so_when_the_dataplane_does_not_answer(tmp_path: Path) -> None:
    platform = Platform(data_dir=tmp_path / "data", broker_url=None)
    try:
        platform.start("controlplane", "controlplane")  # no dataplane at all
        platform.wait_api()
        platform.token = platform.create_admin()
        _connection(platform, "somewhere", "127.0.0.1", 5432)
        elapsed, body = _fresh_status(platform)
        assert body["dataplane_healthcheck"] == "UNHEALTHY"
        assert body["private_routes"] == {
            "127.0.0.1:5432": 'Attempt to reach "127.0.0.1:5432" failed with message: '
            f'"The dataplane did not answer within {DEADLINE:g} s"'
        }
        assert elapsed <= DEADLINE + 1.0
    finally:
        platform.stop_all()
