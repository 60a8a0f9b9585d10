"""GET /api next to a bare FastAPI endpoint returning the same body: what authentication costs.

Run: `python -m bench.bench_platform_info` (or `make bench`). Starts the real controlplane
(`dqp controlplane`, one uvicorn worker, embedded SQLite and broker in a temporary data dir)
with an admin and a token made by the CLI, and beside it the bare app (bench/bare_info_app.py)
under uvicorn with one worker. A separate load process (bench/http_load.py, httpx) drives
each in turn at each concurrency, several rounds, alternating which goes first so that
whatever else runs on the machine disturbs both alike; the table shows the medians.

Target (issue 2): GET /api serves at least 80% of the bare endpoint's requests per second.
The load process is Python too, and on a small machine it may be slower than the servers;
the "server CPU" column (server CPU time per request) does not depend on the client, and
"capacity ratio" (bare CPU per request / GET /api CPU per request) is the requests/s ratio
the two would reach with a client fast enough to keep the servers busy. When `wrk` is
installed, a second table has exactly that: the same pairs driven by wrk (bench/load.py),
a C load generator fast enough that the servers, not the client, set the pace.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.load import run_wrk, server_processes

CONCURRENCY = (1, 16)
ROUNDS = 3
REQUESTS = {1: 1500, 16: 5000}
TIME_LIMIT_SECONDS = 10.0
WARMUP_REQUESTS = 300
WRK_SECONDS = 4.0
WRK_WARMUP_SECONDS = 1.0
TARGET_RATIO = 0.80
START_TIMEOUT_SECONDS = 60.0

CONTROLPLANE = "GET /api"
BARE = "bare FastAPI"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dqp(*args: str) -> list[str]:
    return [sys.executable, "-m", "dqplatform.cli.main", *args]


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/api/health", timeout=1).status_code == 204:
                return
        time.sleep(0.2)
    tail = server.log.read_text(errors="replace")[-2000:]
    raise SystemExit(f"{server.name} did not start:\n{tail}")


@contextlib.contextmanager
def serve(
    name: str, argv: list[str], env: dict[str, str], port: int, logs: Path
) -> Iterator[Server]:
    log = logs / f"{name.replace(' ', '_').replace('/', '')}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        dqp(*args), env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"dqp {args[0]} {args[1]} failed: {result.stderr.strip()}")
    return result.stdout


def measure_httpx(
    server: Server, token: str | None, concurrency: int, requests: int, time_limit: float
) -> dict[str, Any]:
    """One run of the load process against `server`'s GET /api."""
    env = dict(os.environ)
    env.pop("BENCH_TOKEN", None)
    if token:
        env["BENCH_TOKEN"] = token
    argv = [
        sys.executable,
        "-m",
        "bench.http_load",
        f"{server.url}/api",
        "--concurrency",
        str(concurrency),
        "--requests",
        str(requests),
        "--time-limit",
        str(time_limit),
        "--warmup",
        str(WARMUP_REQUESTS),
        "--server-pid",
        str(server.process.pid),
    ]
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=3 * time_limit + 60, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"load against {server.name} failed: {result.stderr.strip()[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def measure_wrk(
    server: Server, token: str | None, concurrency: int, seconds: float
) -> dict[str, Any]:
    """One wrk run against `server`'s GET /api, after a short warm-up run."""
    processes = server_processes(server.process.pid)
    authorization = f"Bearer {token}" if token else None
    url = f"{server.url}/api"
    run_wrk(url, concurrency, WRK_WARMUP_SECONDS, processes, authorization)
    result = run_wrk(url, concurrency, seconds, processes, authorization)
    if result.errors or not result.requests:
        raise SystemExit(f"wrk against {server.name}: {result.errors} errors")
    return {
        "rps": result.rps,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "server_cpu_us": result.server_cpu / result.rps * 1e6,
        "server_busy": result.server_cpu,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def print_table(
    results: dict[tuple[str, int], list[dict[str, Any]]], rounds: int, load: str
) -> dict[int, float]:
    """The table of medians; returns the requests/s ratio per concurrency."""
    print(
        f"\nGET /api (bearer token) vs a bare FastAPI endpoint with the same body: one uvicorn "
        f"worker each, {load}, median of {rounds} rounds"
    )
    header = (
        f"{'concurrency':>11}  {'endpoint':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'server CPU us/req':>19}{'server busy':>13}"
    )
    print(header)
    print("-" * len(header))
    ratios: dict[int, float] = {}
    for concurrency in sorted({c for _, c in results}):
        for name in (CONTROLPLANE, BARE):
            runs = results[name, concurrency]
            print(
                f"{concurrency:>11}  {name:<14}{_median(runs, 'rps'):>9.0f}"
                f"{_median(runs, 'p50_ms'):>9.2f}{_median(runs, 'p99_ms'):>9.2f}"
                f"{_median(runs, 'server_cpu_us'):>19.0f}{_median(runs, 'server_busy'):>12.0%}"
            )
        api, bare = results[CONTROLPLANE, concurrency], results[BARE, concurrency]
        ratio = _median(api, "rps") / _median(bare, "rps")
        capacity = _median(bare, "server_cpu_us") / _median(api, "server_cpu_us")
        ratios[concurrency] = ratio
        verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
        print(
            f"{concurrency:>11}  {'ratio':<14}{ratio:>9.0%}   capacity ratio {capacity:.0%}   "
            f"({verdict} the {TARGET_RATIO:.0%} target)"
        )
    print(
        "server busy: share of one core the server used during the run; capacity ratio: "
        "bare CPU per request / GET /api CPU per request."
    )
    return ratios


Results = dict[tuple[str, int], list[dict[str, Any]]]
Measure = Callable[[Server, str | None, int], dict[str, Any]]


@contextlib.contextmanager
def platform_and_bare(tmp: Path) -> Iterator[tuple[Server, Server, str]]:
    """The controlplane (with an admin's token) and the bare app, each on a free port."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DQP_")}
    env = {
        **base,
        "DQP_DATA_DIR": str(tmp / "data"),
        "DQP_WORKERS": "1",
        "DQP_LOG_LEVEL": "WARNING",
    }
    run_cli(env, "user", "add", "bench", "--role", "admin", "--password-stdin", stdin="x" * 16)
    token = run_cli(env, "token", "issue", "bench").strip()
    api_port, bare_port = free_port(), free_port()
    # The options `dqp controlplane` gives uvicorn.
    bare_argv = [sys.executable, "-m", "uvicorn", "bench.bare_info_app:app", "--host"]
    bare_argv += ["127.0.0.1", "--port", str(bare_port), "--workers", "1"]
    bare_argv += ["--log-level", "warning", "--no-access-log"]
    api_env = {**env, "DQP_PORT": str(api_port)}
    with (
        serve(CONTROLPLANE, dqp("controlplane"), api_env, api_port, tmp) as api,
        serve(BARE, bare_argv, env, bare_port, tmp) as bare,
    ):
        headers = {"Authorization": f"Bearer {token}"}
        api_body = httpx.get(f"{api.url}/api", headers=headers, timeout=5).json()
        bare_body = httpx.get(f"{bare.url}/api", timeout=5).json()
        if api_body != bare_body:
            raise SystemExit(f"the bodies differ: {api_body} != {bare_body}")
        yield api, bare, token


def interleaved(
    api: Server, bare: Server, token: str, levels: list[int], rounds: int, measure: Measure
) -> Results:
    """Each level, `rounds` times, both servers, alternating which goes first."""
    results: Results = {}
    for concurrency in levels:
        for round_ in range(rounds):
            pair: list[tuple[Server, str | None]] = [(api, token), (bare, None)]
            for server, bearer in pair if round_ % 2 == 0 else pair[::-1]:
                figures = measure(server, bearer, concurrency)
                results.setdefault((server.name, concurrency), []).append(figures)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the request counts")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT_SECONDS)
    parser.add_argument("--wrk-seconds", type=float, default=WRK_SECONDS)
    parser.add_argument("--no-wrk", action="store_true", help="skip the wrk table")
    args = parser.parse_args(argv)
    levels = [int(value) for value in args.concurrency.split(",")]
    use_wrk = not args.no_wrk and shutil.which("wrk") is not None

    def by_httpx(server: Server, token: str | None, concurrency: int) -> dict[str, Any]:
        requests = int(REQUESTS.get(concurrency, 5000) * args.scale)
        return measure_httpx(server, token, concurrency, requests, args.time_limit)

    def by_wrk(server: Server, token: str | None, concurrency: int) -> dict[str, Any]:
        return measure_wrk(server, token, concurrency, args.wrk_seconds)

    with (
        tempfile.TemporaryDirectory(prefix="dqp-bench-info-") as tmp,
        platform_and_bare(Path(tmp)) as (api, bare, token),
    ):
        with_httpx = interleaved(api, bare, token, levels, args.rounds, by_httpx)
        with_wrk = interleaved(api, bare, token, levels, args.rounds, by_wrk) if use_wrk else {}
    print_table(with_httpx, args.rounds, "httpx load process")
    if with_wrk:
        print_table(with_wrk, args.rounds, "wrk (server-bound)")
    else:
        print("(wrk is not installed: no server-bound table)")


if __name__ == "__main__":
    main()
