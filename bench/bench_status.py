"""GET /api/status and GET /api under load, next to fastapi-healthz and a bare FastAPI endpoint.

Run: `python -m bench.bench_status` (or `make bench`). Starts `dqp up` on a fresh PostgreSQL
database and RabbitMQ, the fastapi-healthz app (bench/healthz_app.py) checking the same two,
and a bare endpoint (bench/bare_app.py), all served by uvicorn with the same worker count,
then drives each from a separate wrk process at 1, 16 and 64 keep-alive clients, interleaved
so that any disturbance on the machine hits all of them alike, three rounds each (the table
shows each target's median round). Needs `wrk` and the `bench`
extra (`pip install -e ".[bench]"`).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from bench.load import LoadResult, require_wrk, run_wrk
from bench.stack import (
    DEFAULT_CACHE_SECONDS,
    DEFAULT_WORKERS,
    controlplane_processes,
    machine,
    platform_up,
    postgres_database,
    rabbitmq_vhost,
    uvicorn_app,
    uvicorn_workers,
)
from bench.worker_counters import per_worker
from tests.e2e.harness import Platform

CLIENTS = (1, 16, 64)
SECONDS = 5.0
ROUNDS = 3
WARMUP_SECONDS = 1.0
PROBE_CLIENTS = 64
PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    processes: Callable[[], list[psutil.Process]]
    authorization: str | None = None


def _measure(
    targets: list[Target], clients: tuple[int, ...], seconds: float, rounds: int
) -> dict[tuple[str, int], LoadResult]:
    """Each target's median round (by requests per second) at each client count.

    Rounds, because one run can be unlucky in a way the others are not: the kernel hands a
    burst of new connections to whichever worker wakes first, and a worker that took most of
    the 64 leaves the other idle (server CPU near 100 % instead of near 200 %). Each round
    starts the targets in a different order.
    """
    runs: dict[tuple[str, int], list[LoadResult]] = {}
    for count in clients:
        for round_ in range(rounds):
            shift = round_ % len(targets)
            for target in targets[shift:] + targets[:shift]:
                server = target.processes()
                run_wrk(target.url, count, WARMUP_SECONDS, server, target.authorization)
                result = run_wrk(target.url, count, seconds, server, target.authorization)
                runs.setdefault((target.name, count), []).append(result)
    return {key: _median_run(results) for key, results in runs.items()}


def _median_run(results: list[LoadResult]) -> LoadResult:
    ordered = sorted(results, key=lambda result: result.rps)
    return ordered[(len(ordered) - 1) // 2]


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.1f}x" if reference else "-"


def _cpu_per_request(result: LoadResult) -> float:
    return result.server_cpu / result.rps * 1e6 if result.rps else 0.0


def print_table(results: dict[tuple[str, int], LoadResult], workers: int, rounds: int) -> None:
    print(
        f"\nGET /api/status and GET /api under load ({workers} uvicorn workers each, wrk; "
        f"the median of {rounds} rounds)"
    )
    header = (
        f"{'endpoint':<22}{'clients':>8}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"
        f"{'vs healthz':>11}{'vs bare':>9}{'load CPU':>10}{'server CPU':>11}{'CPU us/req':>11}"
    )
    print(header)
    print("-" * len(header))
    names = list(dict.fromkeys(name for name, _ in results))
    counts = sorted({count for _, count in results})
    for count in counts:
        healthz = results.get(("fastapi-healthz", count))
        bare = results.get(("bare FastAPI", count))
        for name in names:
            result = results[name, count]
            vs_healthz = _ratio(result.rps, healthz.rps) if healthz else "-"
            vs_bare = _ratio(result.rps, bare.rps) if bare else "-"
            print(
                f"{name:<22}{count:>8}{result.rps:>9.0f}{result.p50_ms:>8.1f}"
                f"{result.p99_ms:>8.1f}{result.errors:>8}{vs_healthz:>11}{vs_bare:>9}"
                f"{result.load_cpu:>9.0%} {result.server_cpu:>10.0%}"
                f"{_cpu_per_request(result):>11.0f}"
            )
    print(
        "load CPU / server CPU: share of one core used by the wrk process / by the server's"
        " processes during the run (the machine has 2 cores); CPU us/req: server CPU time per"
        " answer, which does not depend on how much CPU other work left to the server."
    )


@dataclass(frozen=True)
class ProbeCount:
    seconds: float
    sent: dict[int, int]  # worker pid -> dataplane probes sent during the load
    requests: int


def count_probes(platform: Platform, seconds: float) -> ProbeCount:
    """Dataplane probes each worker sent while PROBE_CLIENTS clients poll GET /api/status.

    dataplane_probes_sent counts per controlplane process, so it is read from every worker
    before and after the load (bench/worker_counters.py finds which worker answered).
    """
    processes = controlplane_processes(platform)
    workers = uvicorn_workers(processes)
    details = platform.url + "/api/status/details"
    bearer = f"Bearer {platform.token}"
    before = per_worker(details, bearer, workers)
    load = run_wrk(platform.url + "/api/status", PROBE_CLIENTS, seconds, processes, bearer)
    after = per_worker(details, bearer, workers)
    sent = {
        pid: after[pid]["dataplane_probes_sent"] - before[pid]["dataplane_probes_sent"]
        for pid in before
        if pid in after
    }
    if len(sent) < len(workers):
        raise RuntimeError(f"read the counter of {len(sent)} of {len(workers)} workers only")
    return ProbeCount(load.seconds, sent, load.requests)


def print_probes(count: ProbeCount, window: float) -> None:
    print(
        f"\nDataplane probes while {PROBE_CLIENTS} clients poll GET /api/status for "
        f"{count.seconds:.0f} s ({count.requests:,} answers; coalescing window {window:g} s)"
    )
    header = f"{'process':<22}{'probes':>8}{'per second':>12}{'per window':>12}"
    print(header)
    print("-" * len(header))
    for number, (pid, sent) in enumerate(sorted(count.sent.items()), start=1):
        rate = sent / count.seconds
        print(f"{f'worker {number} (pid {pid})':<22}{sent:>8}{rate:>12.2f}{rate * window:>12.2f}")
    total = sum(count.sent.values())
    rate = total / count.seconds
    print(f"{'all workers':<22}{total:>8}{rate:>12.2f}{rate * window:>12.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--clients", default=",".join(map(str, CLIENTS)))
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    require_wrk()
    clients = tuple(int(value) for value in args.clients.split(","))
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(postgres_database())
        broker_url = stack.enter_context(rabbitmq_vhost())
        platform = stack.enter_context(platform_up(database_url, broker_url, args.workers))
        healthz = stack.enter_context(
            uvicorn_app(
                "bench.healthz_app:app",
                "/health",
                workers=args.workers,
                env={
                    "BENCH_HEALTHZ_DATABASE_URL": database_url,
                    "BENCH_HEALTHZ_AMQP_URL": broker_url,
                },
            )
        )
        bare = stack.enter_context(uvicorn_app("bench.bare_app:app", "/bare", args.workers))
        bearer = f"Bearer {platform.token}"
        targets = [
            Target(
                "GET /api/status",
                platform.url + "/api/status",
                lambda: controlplane_processes(platform),
                bearer,
            ),
            Target(
                "GET /api", platform.url + "/api", lambda: controlplane_processes(platform), bearer
            ),
            Target("fastapi-healthz", healthz.url, healthz.processes),
            Target("bare FastAPI", bare.url, bare.processes),
        ]
        results = _measure(targets, clients, args.seconds, args.rounds)
        probes = count_probes(platform, PROBE_SECONDS)
    print_table(results, args.workers, args.rounds)
    print_probes(probes, DEFAULT_CACHE_SECONDS)
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
