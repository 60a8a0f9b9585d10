"""Load generators that run as processes of their own: wrk for throughput, asyncio for every answer.

Throughput is measured with `wrk` (Debian package `wrk`): a C load generator that costs a
small fraction of the server's CPU per request, so that on a 2-core machine the figures are
the server's and not the client's. Each run reports the CPU the load process and the server
processes used, which is how a reader checks that the load generator was not the bottleneck.

Where the time of every single answer matters (the degraded benchmark), `python -m bench.load`
sends requests from a separate asyncio process and prints each answer's status and latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psutil

WRK_HINT = "wrk is not installed: `apt-get install wrk` (Debian) or see docs/performance.md"
_MARKER = "BENCH-RESULT "
# wrk's done() hook prints the figures as one JSON line; the bearer token comes from the
# environment so that it never shows in a process list.
_WRK_SCRIPT = """
local auth = os.getenv("BENCH_AUTHORIZATION")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,' ..
    '"max_us":%d}\\n',
    "MARKER", summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
""".replace("MARKER", _MARKER)


@dataclass(frozen=True)
class LoadResult:
    """One wrk run: throughput, latency, errors, and the CPU both sides used."""

    clients: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # non-2xx/3xx answers, socket errors and timeouts
    load_cpu: float  # CPU of the load process, as a share of one core (1.0 = one core busy)
    server_cpu: float  # CPU of the server processes, as a share of one core

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(WRK_HINT)
    return path


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """User plus system CPU seconds of `processes` so far (gone ones count as nothing)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def server_processes(root_pid: int) -> list[psutil.Process]:
    """The process `root_pid` and all its descendants (uvicorn's workers, say)."""
    root = psutil.Process(root_pid)
    return [root, *root.children(recursive=True)]


def _children_cpu() -> float:
    """CPU seconds of all the children this process has reaped so far."""
    times = os.times()
    return times.children_user + times.children_system


def run_wrk(
    url: str,
    clients: int,
    seconds: float,
    server: list[psutil.Process],
    authorization: str | None = None,
    timeout_seconds: float = 10.0,
) -> LoadResult:
    """Drive `url` with `clients` keep-alive connections for `seconds` from one wrk process."""
    wrk = require_wrk()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "report.lua"
        script.write_text(_WRK_SCRIPT)
        env = {**os.environ, "BENCH_AUTHORIZATION": authorization or ""}
        argv = [
            wrk,
            "--threads",
            "1",  # one thread drives far more than these servers answer; see the CPU column
            "--connections",
            str(clients),
            "--duration",
            f"{max(1, round(seconds))}s",
            "--timeout",
            f"{timeout_seconds:g}s",
            "--script",
            str(script),
            url,
        ]
        server_before = cpu_seconds(server)
        children_before = _children_cpu()
        started = time.monotonic()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            stdout, stderr = process.communicate(timeout=seconds + timeout_seconds + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise RuntimeError("wrk did not finish in time") from None
        wall = time.monotonic() - started
        server_after = cpu_seconds(server)
        # communicate() reaped wrk, so its CPU is now in this process's children's usage.
        load_cpu = _children_cpu() - children_before
    report = _parse(stdout.decode(errors="replace"), stderr.decode(errors="replace"))
    errors = sum(
        report[key]
        for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return LoadResult(
        clients=clients,
        requests=report["requests"],
        seconds=report["duration_us"] / 1e6,
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        max_ms=report["max_us"] / 1000,
        errors=errors,
        load_cpu=load_cpu / wall,
        server_cpu=(server_after - server_before) / wall,
    )


def _parse(stdout: str, stderr: str) -> dict[str, int]:
    for line in stdout.splitlines():
        if line.startswith(_MARKER):
            parsed: dict[str, int] = json.loads(line.removeprefix(_MARKER))
            return parsed
    raise RuntimeError(f"wrk printed no result: {stdout[-500:]} {stderr[-500:]}")


# --- every answer, for the degraded benchmark -----------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int  # 0 when no HTTP answer came at all
    seconds: float


async def _one_connection(
    url: str, request: bytes, stop_at: float, timeout: float, answers: list[Answer]
) -> None:
    """One keep-alive HTTP/1.1 connection sending requests back to back until `stop_at`.

    A few lines of HTTP on asyncio streams rather than a full client: the latency measured is
    the server's plus the loopback, not a client library's bookkeeping.
    """
    parts = urlsplit(url)
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                if connection is None:
                    connection = await asyncio.open_connection(parts.hostname, parts.port)
                reader, writer = connection
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
        except (OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError):
            status = 0
            if connection is not None:
                connection[1].close()
            connection = None
        answers.append(Answer(status, time.perf_counter() - started))
    if connection is not None:
        connection[1].close()


async def _every_answer(
    url: str, clients: int, seconds: float, authorization: str, timeout: float
) -> list[Answer]:
    parts = urlsplit(url)
    lines = [f"GET {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    answers: list[Answer] = []
    stop_at = time.monotonic() + seconds
    await asyncio.gather(
        *(_one_connection(url, request, stop_at, timeout, answers) for _ in range(clients))
    )
    return answers


def every_answer(
    url: str,
    clients: int,
    seconds: float,
    authorization: str | None = None,
    timeout: float = 30.0,
) -> list[Answer]:
    """Run `python -m bench.load` as a separate process; the status and latency of each answer."""
    env = {**os.environ, "BENCH_AUTHORIZATION": authorization or ""}
    argv = [
        sys.executable,
        "-m",
        "bench.load",
        url,
        "--clients",
        str(clients),
        "--seconds",
        str(seconds),
        "--timeout",
        str(timeout),
    ]
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + timeout + 60, check=True
    )
    rows = json.loads(result.stdout)
    return [Answer(int(status), float(latency)) for status, latency in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print [status, seconds] of every answer.")
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    authorization = os.environ.get("BENCH_AUTHORIZATION", "")
    import uvloop

    answers = uvloop.run(
        _every_answer(args.url, args.clients, args.seconds, authorization, args.timeout)
    )
    print(json.dumps([[answer.status, round(answer.seconds, 6)] for answer in answers]))


if __name__ == "__main__":
    main()
