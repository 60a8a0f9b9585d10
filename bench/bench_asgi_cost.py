"""What the controlplane's own code costs per request, without HTTP: the ASGI app called directly.

Run: `python -m bench.bench_asgi_cost` (or `make bench`). Builds the controlplane app in a
temporary data dir (SQLite, embedded broker; no dataplane is needed for these endpoints),
runs its start-up, and calls it in this process, as uvicorn would after parsing a request, next
to the bare app of bench/bare_info_app.py. The server's own share (parsing HTTP, the socket)
is the same for both and is left out, so the difference is what authentication, routing and
the middleware cost. The wrk tables of bench_platform_info and bench_status show the same
endpoints over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

CALLS = 20_000
ROUNDS = 5

Scope = dict[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: App, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(path, headers), receive, send)
    return status


async def _microseconds_per_call(
    app: App, path: str, headers: list[tuple[bytes, bytes]], calls: int
) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await _call(app, path, headers)
    return (time.perf_counter() - started) / calls * 1e6


async def measure(calls: int, rounds: int) -> dict[str, list[float]]:
    # The settings are read from the environment when the apps are built: set it first.
    os.environ["DQP_DATA_DIR"] = tempfile.mkdtemp(prefix="dqp-bench-asgi-")
    os.environ.setdefault("DQP_LOG_LEVEL", "WARNING")
    from bench.bare_info_app import app as bare
    from dqplatform.controlplane.app import create_app
    from dqplatform.controlplane.auth.roles import Role
    from dqplatform.controlplane.auth.tokens import issue_session_token
    from dqplatform.controlplane.users.service import create_user
    from dqplatform.settings import load_settings

    settings = load_settings()
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        with app.state.session_factory() as session:
            user = create_user(session, "bench", "x" * 16, Role.MEMBER)
            session.commit()
            user_id = user.id
        app.state.users.reload()
        token = issue_session_token(settings.signing_secret, user_id, Role.MEMBER, 3600)
        headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
        targets: list[tuple[str, App, str]] = [
            ("GET /api", app, "/api"),
            ("bare GET /api", bare, "/api"),
            ("GET /api/health", app, "/api/health"),
            ("bare GET /api/health", bare, "/api/health"),
        ]
        for name, target, path in targets:
            status = await _call(target, path, headers)
            if status not in (200, 204):
                raise SystemExit(f"{name} answered {status}")
        results: dict[str, list[float]] = {name: [] for name, _, _ in targets}
        for _ in range(rounds):
            for name, target, path in targets:
                results[name].append(await _microseconds_per_call(target, path, headers, calls))
    return results


def print_table(results: dict[str, list[float]], calls: int, rounds: int) -> None:
    print(
        f"\nThe ASGI app called in-process, no HTTP ({calls:,} calls per round, median of "
        f"{rounds} rounds)"
    )
    header = f"{'endpoint':<24}{'us/call':>9}{'vs bare':>9}"
    print(header)
    print("-" * len(header))
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, value in medians.items():
        bare = medians.get(name if name.startswith("bare") else f"bare {name}")
        ratio = f"{value / bare:.2f}x" if bare else "-"
        print(f"{name:<24}{value:>9.1f}{ratio:>9}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.calls, args.rounds))
    print_table(results, args.calls, args.rounds)


if __name__ == "__main__":
    main()
