"""A load process: GET one URL over N keep-alive connections and print the figures as JSON.

Run by the benchmarks as `python -m bench.http_load URL --concurrency N ...`; a bearer token, if
any, comes in BENCH_TOKEN (not on the command line, where `ps` would show it). With
--server-pid it also reports the CPU time the server spent per measured request, a figure
that does not depend on how fast this client is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import Any

import httpx
import psutil


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(len(sorted_values) * fraction))
    return sorted_values[index]


async def drive(
    url: str,
    headers: dict[str, str],
    concurrency: int,
    requests: int,
    time_limit: float,
    warmup: int,
    server: psutil.Process | None,
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        expected = (await client.get(url)).content

        async def worker(budget: list[int], deadline: float, latencies: list[float]) -> None:
            while budget[0] > 0 and time.monotonic() < deadline:
                budget[0] -= 1
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - started)
                # A refused or different answer would make the figures meaningless.
                if response.status_code != 200 or response.content != expected:
                    raise RuntimeError(f"{url} answered {response.status_code}")

        async def phase(count: int, limit: float) -> tuple[list[float], float]:
            latencies: list[float] = []
            budget, deadline = [count], time.monotonic() + limit
            started = time.perf_counter()
            await asyncio.gather(*(worker(budget, deadline, latencies) for _ in range(concurrency)))
            return latencies, time.perf_counter() - started

        # Warm up: open every connection and let both sides settle.
        await phase(max(warmup, concurrency), time_limit)
        cpu_before = sum(server.cpu_times()[:2]) if server else 0.0
        latencies, elapsed = await phase(requests, time_limit)
        cpu_after = sum(server.cpu_times()[:2]) if server else 0.0
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "server_cpu_us": (cpu_after - cpu_before) / len(latencies) * 1e6 if server else None,
        "server_busy": (cpu_after - cpu_before) / elapsed if server else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--server-pid", type=int, default=None)
    args = parser.parse_args(argv)
    token = os.environ.get("BENCH_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    server = psutil.Process(args.server_pid) if args.server_pid else None
    figures = asyncio.run(
        drive(
            args.url,
            headers,
            args.concurrency,
            args.requests,
            args.time_limit,
            args.warmup,
            server,
        )
    )
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
