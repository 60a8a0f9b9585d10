"""Private route checks: real TCP connections to real listeners on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from dqplatform.dataplane.routes import check_routes_blocking, failure_message

pytestmark = pytest.mark.integration


@pytest.fixture
def open_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # bound, never listening, then released


class Blackhole:
    """A port whose SYNs go unanswered: a listener that never accepts, its backlog full.

    With the accept queue full Linux drops further SYNs silently (tcp_abort_on_overflow=0),
    which is what a firewall that drops packets looks like to the caller.
    """

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = int(self.listener.getsockname()[1])
        self.fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


@pytest.fixture
def blackholed_port() -> Iterator[int]:
    hole = Blackhole()
    time.sleep(0.2)
    try:
        yield hole.port
    finally:
        hole.close()


def test_open_closed_and_unresolvable_routes(open_port: int, closed_port: int) -> None:
    routes = [f"127.0.0.1:{open_port}", f"127.0.0.1:{closed_port}", "no-such-host.invalid:5432"]
    results = check_routes_blocking(routes, timeout=2)
    assert results[f"127.0.0.1:{open_port}"] == "OK"
    assert results[f"127.0.0.1:{closed_port}"] == failure_message(
        f"127.0.0.1:{closed_port}", "Connection refused"
    )
    unresolved = results["no-such-host.invalid:5432"]
    assert unresolved.startswith(
        'Attempt to reach "no-such-host.invalid:5432" failed with message: "'
    )
    assert "could not be resolved" in unresolved


def test_a_blackholed_route_times_out_within_the_deadline(
    blackholed_port: int, open_port: int
) -> None:
    route = f"127.0.0.1:{blackholed_port}"
    started = time.monotonic()
    results = check_routes_blocking([route, f"127.0.0.1:{open_port}"], timeout=1.0)
    elapsed = time.monotonic() - started
    assert results[route] == failure_message(route, "Timed out after 1 s")
    assert results[f"127.0.0.1:{open_port}"] == "OK"
    assert elapsed < 1.5  # concurrent: one deadline, not one per route


def test_fifty_routes_ten_blackholed_answer_in_one_deadline() -> None:
    listeners = []
    for _ in range(40):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listeners.append(listener)
    holes = [Blackhole() for _ in range(10)]
    time.sleep(0.2)
    routes = [f"127.0.0.1:{item.getsockname()[1]}" for item in listeners]
    routes += [f"127.0.0.1:{hole.port}" for hole in holes]
    try:
        started = time.monotonic()
        results = check_routes_blocking(routes, timeout=1.0)
        elapsed = time.monotonic() - started
    finally:
        for listener in listeners:
            listener.close()
        for hole in holes:
            hole.close()
    assert len(results) == 50
    assert sum(1 for value in results.values() if value == "OK") == 40
    assert sum(1 for value in results.values() if "Timed out after 1 s" in value) == 10
    assert elapsed < 1.5


def test_duplicates_collapse_and_malformed_routes_say_why(open_port: int) -> None:
    route = f"127.0.0.1:{open_port}"
    results = check_routes_blocking([route, route, "missing-port"], timeout=1)
    assert list(results) == ["127.0.0.1:" + str(open_port), "missing-port"]
    assert results["missing-port"] == failure_message(
        "missing-port", "Invalid route: not of the form host:port"
    )
