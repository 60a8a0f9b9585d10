"""Restart to healthy again, next to a cold dataplane start; probes sent for a status burst.

Run: `python -m bench.bench_restart` (or `make bench`). Starts a real platform (`dqp up`) in a
temporary directory on the embedded broker, or on RabbitMQ with `--broker amqp://...`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.e2e.harness import Platform, wait_until

BURST = 1000
CONCURRENCY = 64


def _cold_start(platform: Platform) -> float:
    """Seconds from starting `dqp up` until the dataplane first answers healthy."""
    started = time.monotonic()
    platform.start("up", "up")
    platform.wait_api()
    platform.token = platform.issue_token("admin")
    platform.wait_dataplane_healthy(timeout=180)
    return time.monotonic() - started


def _restart_to_healthy(platform: Platform) -> float:
    previous = platform.get("/api/status/details").json()["dataplane_boot_id"]
    started = time.monotonic()
    assert platform.put("/api/admin/restart").status_code == 200

    def new_boot_healthy() -> bool:
        details = platform.get("/api/status/details").json()
        return details["dataplane"]["state"] == "OK" and details["dataplane_boot_id"] != previous

    wait_until(new_boot_healthy, 180, interval=0.1)
    return time.monotonic() - started


async def _burst(platform: Platform) -> tuple[float, list[float]]:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    headers = {"Authorization": f"Bearer {platform.token}"}
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=platform.url, headers=headers, limits=limits, timeout=10
    ) as client:

        async def one() -> None:
            async with semaphore:
                started = time.monotonic()
                response = await client.get("/api/status")
                response.raise_for_status()
                latencies.append(time.monotonic() - started)

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(BURST)))
        return time.monotonic() - started, latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broker", default=None, help="broker URL (default: embedded)")
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(
            data_dir=Path(tmp) / "data",
            broker_url=args.broker,
            extra_env={"DQP_STATUS_CACHE_SECONDS": "1"},
        )
        try:
            cold = _cold_start(platform)
            restarts = [_restart_to_healthy(platform) for _ in range(args.restarts)]
            before = platform.get("/api/status/details").json()["dataplane_probes_sent"]
            elapsed, latencies = asyncio.run(_burst(platform))
            after = platform.get("/api/status/details").json()["dataplane_probes_sent"]
        finally:
            platform.stop_all()
    latencies.sort()
    print(f"\nRestart and probes ({'embedded broker' if not args.broker else 'RabbitMQ'})")
    print(f"{'measure':<48}{'value':>12}")
    print(f"{'cold start of dqp up to dataplane healthy (s)':<48}{cold:>12.2f}")
    print(f"{'restart call to healthy again, median (s)':<48}{statistics.median(restarts):>12.2f}")
    print(f"{'restart call to healthy again, max (s)':<48}{max(restarts):>12.2f}")
    print(
        f"{'restart minus cold start, median (s)':<48}{statistics.median(restarts) - cold:>12.2f}"
    )
    print(f"{f'status calls in the burst ({CONCURRENCY} at once)':<48}{BURST:>12d}")
    print(f"{'burst duration (s)':<48}{elapsed:>12.2f}")
    print(f"{'dataplane probes sent for the burst':<48}{after - before:>12d}")
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(f"{'burst p50 / p99 latency (ms)':<48}{f'{p50:.1f} / {p99:.1f}':>12}")


if __name__ == "__main__":
    main()
