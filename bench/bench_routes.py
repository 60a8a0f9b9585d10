"""Status latency with 1, 10 and 50 private routes (10 of them blackholed), next to the deadline.

Run: `python -m bench routes`. Starts a real platform (`dqp up`, embedded broker) in a temporary
directory; routes point at real listeners on loopback, blackholed ones at listeners whose
backlog is full (their SYNs go unanswered, as behind a firewall that drops packets).
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.e2e.harness import Platform
from tests.integration.dataplane.test_routes import Blackhole

SAMPLES = 10
DEADLINE = 2.0
CACHE_SECONDS = 0.2


def _add(platform: Platform, name: str, port: int) -> int:
    body = {
        "type": "postgresql",
        "name": name,
        "host": "127.0.0.1",
        "port": port,
        "private": True,
        "username": "bench",
    }
    response = httpx.post(
        f"{platform.url}/api/connections",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {platform.token}"},
    )
    response.raise_for_status()
    return int(response.json()["id"])


def _remove_all(platform: Platform, ids: list[int]) -> None:
    for connection_id in ids:
        httpx.delete(
            f"{platform.url}/api/connections/{connection_id}",
            timeout=10,
            headers={"Authorization": f"Bearer {platform.token}"},
        )


def _measure(platform: Platform, expected_routes: int) -> list[float]:
    latencies = []
    for _ in range(SAMPLES):
        time.sleep(CACHE_SECONDS + 0.05)  # every sample a fresh check, not a cached one
        started = time.monotonic()
        body = platform.status()
        latencies.append(time.monotonic() - started)
        routes = body.get("private_routes") or {}
        assert len(routes) == expected_routes, routes
    return latencies


def main() -> None:
    listeners: list[socket.socket] = []
    holes: list[Blackhole] = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(
            data_dir=Path(tmp) / "data",
            broker_url=None,
            extra_env={"DQP_STATUS_CACHE_SECONDS": str(CACHE_SECONDS)},
        )
        try:
            platform.start("up", "up")
            platform.wait_api()
            platform.token = platform.issue_token("admin")
            platform.wait_dataplane_healthy(timeout=180)
            for total, blackholed in ((1, 0), (10, 0), (50, 10)):
                ids: list[int] = []
                for index in range(total - blackholed):
                    listener = socket.socket()
                    listener.bind(("127.0.0.1", 0))
                    listener.listen(64)
                    listeners.append(listener)
                    ids.append(_add(platform, f"open-{total}-{index}", listener.getsockname()[1]))
                for index in range(blackholed):
                    hole = Blackhole()
                    holes.append(hole)
                    ids.append(_add(platform, f"hole-{total}-{index}", hole.port))
                latencies = _measure(platform, total)
                rows.append((total, blackholed, latencies))
                _remove_all(platform, ids)
        finally:
            platform.stop_all()
            for listener in listeners:
                listener.close()
            for hole in holes:
                hole.close()
    print(
        f"\nGET /api/status with private routes ({SAMPLES} fresh checks each; "
        f"deadline {DEADLINE:g} s)"
    )
    print(f"{'routes':>8}{'blackholed':>12}{'p50 (s)':>10}{'max (s)':>10}{'max/deadline':>14}")
    for total, blackholed, latencies in rows:
        p50, worst = statistics.median(latencies), max(latencies)
        print(f"{total:>8}{blackholed:>12}{p50:>10.3f}{worst:>10.3f}{worst / DEADLINE:>14.2f}")


if __name__ == "__main__":
    main()
