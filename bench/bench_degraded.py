"""GET /api/status when things break: the latency of every answer against the probe deadline.

Run: `python -m bench.bench_degraded` (or `make bench`). Starts `dqp controlplane` and
`dqp dataplane` as separate processes on a fresh PostgreSQL database and on RabbitMQ reached
through a cuttable TCP proxy, then, each time from a separate load process (`python -m
bench.load`) that records every answer:
1. the broker stopped (the proxy refuses and cuts every connection), then given back;
2. ten private connections whose routes are blackholed (loopback ports that never complete a
   TCP handshake), when the connections API is there;
3. the dataplane stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.load import Answer, every_answer
from bench.stack import (
    DEFAULT_CACHE_SECONDS,
    DEFAULT_DEADLINE,
    DEFAULT_WORKERS,
    START_TIMEOUT,
    machine,
    postgres_database,
    rabbitmq_vhost,
)
from tests.e2e.harness import Platform, wait_until
from tests.e2e.tcp_proxy import TcpProxy

CLIENTS = 16
SECONDS = 10.0
ROUTES = 10
ALLOWED_OVER = 0.10  # the target: no answer later than the deadline plus 10%


@dataclass(frozen=True)
class Scenario:
    name: str
    answers: list[Answer] | None  # None: not measured
    seen: str  # what the status said, or why the scenario was not measured


class Blackhole:
    """A loopback port that never completes a TCP handshake, like a firewalled private host.

    Its listen queue holds one connection and is kept full, so the kernel drops every further
    SYN and a client's connect() waits until its own timeout.
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._fillers: list[socket.socket] = []
        for _ in range(2):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self._fillers.append(filler)

    def close(self) -> None:
        for sock in (*self._fillers, self._listener):
            sock.close()


@contextlib.contextmanager
def _platform(database_url: str, broker_url: str, workers: int) -> Iterator[Platform]:
    with tempfile.TemporaryDirectory(prefix="dqp-bench-") as tmp:
        platform = Platform(
            data_dir=Path(tmp) / "data",
            broker_url=broker_url,
            extra_env={
                "DQP_DATABASE_URL": database_url,
                "DQP_WORKERS": str(workers),
                "DQP_STATUS_CACHE_SECONDS": str(DEFAULT_CACHE_SECONDS),
                "DQP_PROBE_TIMEOUT_SECONDS": str(DEFAULT_DEADLINE),
                "DQP_LOG_LEVEL": "WARNING",
            },
        )
        platform.data_dir.mkdir(parents=True)
        try:
            platform.token = platform.create_admin()
            platform.start("controlplane", "controlplane")
            platform.wait_api(timeout=START_TIMEOUT)
            platform.start("dataplane", "dataplane")
            platform.wait_dataplane_healthy(timeout=START_TIMEOUT)
            yield platform
        finally:
            platform.stop_all()


def _wait_for(platform: Platform, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the status until `condition` holds for its body (the breakage has been noticed)."""
    body: dict[str, Any] = wait_until(
        lambda: (lambda b: b if condition(b) else None)(platform.status()), 60, interval=0.2
    )
    return body


def _load(platform: Platform, clients: int, seconds: float) -> list[Answer]:
    return every_answer(
        platform.url + "/api/status", clients, seconds, authorization=f"Bearer {platform.token}"
    )


def _broker_stopped(platform: Platform, proxy: TcpProxy, clients: int, seconds: float) -> Scenario:
    proxy.stop()
    try:
        body = _wait_for(platform, lambda b: b["rabbitmq_connection"] == "UNHEALTHY")
        answers = _load(platform, clients, seconds)
        body = platform.status()
    finally:
        proxy.start()
    platform.wait_dataplane_healthy(timeout=START_TIMEOUT)
    seen = f"rabbitmq {body['rabbitmq_connection']}, dataplane {_dataplane(body)}"
    return Scenario("broker stopped", answers, seen)


def _dataplane(body: dict[str, Any]) -> str:
    return "OK" if isinstance(body["dataplane_healthcheck"], dict) else "UNHEALTHY"


def _create_private_connections(platform: Platform, holes: list[Blackhole]) -> list[int] | str:
    """The connections' ids, or why they could not be created (no connections API yet)."""
    headers = {"Authorization": f"Bearer {platform.token}"}
    ids: list[int] = []
    for number, hole in enumerate(holes):
        response = httpx.post(
            platform.url + "/api/connections",
            headers=headers,
            timeout=10,
            json={
                "type": "postgresql",
                "name": f"bench-private-{number}",
                "host": "127.0.0.1",
                "port": hole.port,
                "private": True,
            },
        )
        if response.status_code in (404, 405):
            return f"POST /api/connections answered {response.status_code}"
        response.raise_for_status()
        ids.append(int(response.json()["id"]))
    return ids


def _blackholed_routes(platform: Platform, clients: int, seconds: float) -> Scenario:
    name = f"{ROUTES} blackholed private routes"
    holes = [Blackhole() for _ in range(ROUTES)]
    try:
        created = _create_private_connections(platform, holes)
        if isinstance(created, str):
            return Scenario(name, None, f"not measured: {created}")
        try:
            body = _wait_for(
                platform,
                lambda b: (
                    len([v for v in (b.get("private_routes") or {}).values() if v != "OK"])
                    == ROUTES
                ),
            )
        except AssertionError:
            return Scenario(name, None, "not measured: GET /api/status lists no private routes")
        answers = _load(platform, clients, seconds)
        body = platform.status()
        failed = [value for value in (body.get("private_routes") or {}).values() if value != "OK"]
        seen = f"{len(failed)} routes failing, dataplane {_dataplane(body)}"
        for connection_id in created:
            httpx.delete(
                f"{platform.url}/api/connections/{connection_id}",
                headers={"Authorization": f"Bearer {platform.token}"},
                timeout=10,
            )
        return Scenario(name, answers, seen)
    finally:
        for hole in holes:
            hole.close()


def _dataplane_stopped(platform: Platform, clients: int, seconds: float) -> Scenario:
    platform.stop("dataplane")
    body = _wait_for(platform, lambda b: b["dataplane_healthcheck"] == "UNHEALTHY")
    answers = _load(platform, clients, seconds)
    body = platform.status()
    return Scenario("dataplane stopped", answers, f"dataplane {_dataplane(body)}")


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))]


def print_table(scenarios: list[Scenario], deadline: float, clients: int, workers: int) -> None:
    limit = deadline * (1 + ALLOWED_OVER)
    print(
        f"\nGET /api/status degraded: every answer against the {deadline:g} s deadline "
        f"(limit {limit:g} s; {clients} clients; {workers} uvicorn workers)"
    )
    header = (
        f"{'scenario':<30}{'answers':>8}{'non-200':>8}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'max/deadline':>13}{'over limit':>11}  status seen"
    )
    print(header)
    print("-" * (len(header) + 24))
    for scenario in scenarios:
        if scenario.answers is None:
            print(
                f"{scenario.name:<30}{'-':>8}{'-':>8}{'-':>8}{'-':>8}{'-':>8}{'-':>13}{'-':>11}"
                f"  {scenario.seen}"
            )
            continue
        latencies = sorted(answer.seconds for answer in scenario.answers)
        bad = sum(1 for answer in scenario.answers if answer.status != 200)
        over = sum(1 for latency in latencies if latency > limit)
        print(
            f"{scenario.name:<30}{len(latencies):>8}{bad:>8}"
            f"{_percentile(latencies, 0.5) * 1000:>8.1f}{_percentile(latencies, 0.99) * 1000:>8.1f}"
            f"{latencies[-1] * 1000:>8.1f}{latencies[-1] / deadline:>13.2f}{over:>11}"
            f"  {scenario.seen}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args(argv)
    scenarios: list[Scenario] = []
    with postgres_database() as database_url, rabbitmq_vhost() as broker_url:
        upstream = httpx.URL(broker_url.replace("amqp://", "http://", 1))
        proxy = TcpProxy(upstream.host, upstream.port or 5672)
        proxy.start()
        # The same broker and vhost, through the proxy that the scenarios cut.
        proxied = broker_url.replace(f":{upstream.port or 5672}/", f":{proxy.port}/", 1)
        try:
            with _platform(database_url, proxied, args.workers) as platform:
                scenarios.append(_broker_stopped(platform, proxy, args.clients, args.seconds))
                scenarios.append(_blackholed_routes(platform, args.clients, args.seconds))
                scenarios.append(_dataplane_stopped(platform, args.clients, args.seconds))
        finally:
            proxy.stop()
    print_table(scenarios, DEFAULT_DEADLINE, args.clients, args.workers)
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
