"""Controlplane resident memory over 100,000 GET /api/status requests, and its growth.

Run: `python -m bench.bench_memory` (or `make bench`). Starts `dqp up` on a fresh PostgreSQL
database and RabbitMQ, then drives GET /api/status from a separate wrk process at 64 clients
in short slices, reading the resident set size (psutil) of every controlplane process between
slices, until 100,000 requests have been answered (or the time bound is reached).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import psutil

from bench.load import require_wrk, run_wrk
from bench.stack import (
    DEFAULT_WORKERS,
    controlplane_processes,
    machine,
    platform_up,
    postgres_database,
    rabbitmq_vhost,
    uvicorn_workers,
)

REQUESTS = 100_000
CLIENTS = 64
SLICE_SECONDS = 2.0
TIME_LIMIT = 300.0
WARMUP_REQUESTS = 5_000  # growth is measured from here: imports and first-use caches are done
REPORT_EVERY = 10_000
MB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    requests: int
    errors: int
    rss: dict[int, int]  # pid -> bytes

    @property
    def largest(self) -> int:
        return max(self.rss.values())

    @property
    def total(self) -> int:
        return sum(self.rss.values())


def _rss(processes: list[psutil.Process]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for process in processes:
        try:
            sizes[process.pid] = process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return sizes


def _drive(url: str, token: str, processes: list[psutil.Process], target: int) -> list[Sample]:
    samples = [Sample(0, 0, _rss(processes))]
    done = errors = 0
    give_up_at = time.monotonic() + TIME_LIMIT
    while done < target and time.monotonic() < give_up_at:
        result = run_wrk(url, CLIENTS, SLICE_SECONDS, processes, f"Bearer {token}")
        done += result.requests
        errors += result.errors
        samples.append(Sample(done, errors, _rss(processes)))
    return samples


def print_table(samples: list[Sample], workers: list[int], parent: int) -> None:
    print(
        f"\nControlplane resident memory over {samples[-1].requests:,} GET /api/status requests "
        f"({len(workers)} uvicorn workers, {CLIENTS} clients, wrk)"
    )
    header = (
        f"{'requests':>10}{'errors':>8}"
        + "".join(f"{f'worker {n} MB':>13}" for n in range(1, len(workers) + 1))
        + f"{'supervisor MB':>15}{'total MB':>10}"
    )
    print(header)
    print("-" * len(header))

    def supervisor(sample: Sample) -> str:
        return "-" if parent in workers else f"{sample.rss.get(parent, 0) / MB:.1f}"

    shown: list[Sample] = []
    next_mark = 0
    for sample in samples:
        if sample.requests >= next_mark or sample is samples[-1]:
            shown.append(sample)
            next_mark = (sample.requests // REPORT_EVERY + 1) * REPORT_EVERY
    for sample in shown:
        print(
            f"{sample.requests:>10,}{sample.errors:>8}"
            + "".join(f"{sample.rss.get(pid, 0) / MB:>13.1f}" for pid in workers)
            + f"{supervisor(sample):>15}{sample.total / MB:>10.1f}"
        )
    after_warmup = next((s for s in samples if s.requests >= WARMUP_REQUESTS), samples[0])
    last = samples[-1]
    growth = [(last.rss.get(pid, 0) - after_warmup.rss.get(pid, 0)) / MB for pid in workers]
    print(
        f"largest worker at the end: {last.largest / MB:.1f} MB; growth per worker from "
        f"{after_warmup.requests:,} to {last.requests:,} requests: "
        + ", ".join(f"{value:+.1f} MB" for value in growth)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args = parser.parse_args(argv)
    require_wrk()
    with (
        postgres_database() as database_url,
        rabbitmq_vhost() as broker_url,
        platform_up(database_url, broker_url, args.workers) as platform,
    ):
        processes = controlplane_processes(platform)
        workers = [worker.pid for worker in uvicorn_workers(processes)]
        samples = _drive(platform.url + "/api/status", platform.token, processes, args.requests)
    print_table(samples, workers, processes[0].pid)
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
