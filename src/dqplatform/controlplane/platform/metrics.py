"""The controlplane's Prometheus metrics: events counted as they come, state read per scrape."""

# Events (probe latencies, restart requests) are counted in this process's registry or, when
# the server runs several worker processes, in prometheus_client's multiprocess files, so
# that every worker answers a scrape with the sum over all of them. State (component health,
# the dataplane's pool and executors, operations in the database) is read at scrape time from
# the status service's coalesced probe results and the database: any worker gives the same
# answer, and a scrape costs at most the one check that status calls share.

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.process_collector import ProcessCollector

from dqplatform.controlplane.platform.probes import ProbeResult
from dqplatform.controlplane.platform.status import StatusService
from dqplatform.messaging.schemas import HealthReply
from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MIB = 1024 * 1024

COMPONENTS = ("database", "broker", "dataplane")
# Operations by (type, result), every pair the operations domain knows present (zeros
# included, so rates and alerts need no absent()); handed over by the app.
OperationCounts = dict[tuple[str, str], int]


# --- events ---------------------------------------------------------------------------------

EVENTS = CollectorRegistry(auto_describe=True)
# Probes are bounded by DQP_PROBE_TIMEOUT_SECONDS (2 s by default, at most 60).
PROBE_SECONDS = Histogram(
    "dqp_probe_duration_seconds",
    "Time each status check took, by component and outcome (ok or failed).",
    ["component", "result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
    registry=EVENTS,
)
RESTARTS = Counter(
    "dqp_dataplane_restart_requests",
    "Dataplane restarts requested through PUT /api/admin/restart, by the admin who asked and "
    "whether the broker took the message.",
    ["requested_by", "delivered"],
    registry=EVENTS,
)
if os.environ.get(MULTIPROC_ENV) is None:
    # The worker that answers is the only one whose process figures it could give.
    ProcessCollector(registry=EVENTS)


def observe_probe(component: str, result: ProbeResult) -> None:
    """A StatusService's probe observer (the app hands it over when it builds the service)."""
    PROBE_SECONDS.labels(component, "ok" if result.ok else "failed").observe(
        result.latency_ms / 1000
    )


def count_restart(requested_by: str, delivered: bool) -> None:
    RESTARTS.labels(requested_by, "true" if delivered else "false").inc()


def prepare_multiprocess(settings: Settings) -> Path:
    """Set up shared metric files for a server with several workers; call before it starts.

    The folder is emptied first: figures of an earlier server run must not be added in.
    """
    folder = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def _event_families() -> Iterable[Metric]:
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        return MultiProcessCollector(None, path=folder).collect()
    return EVENTS.collect()


# --- state ----------------------------------------------------------------------------------


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def component_families(results: dict[str, ProbeResult]) -> list[Metric]:
    up = GaugeMetricFamily(
        "dqp_component_up",
        "1 if the component answered its last status check, else 0.",
        labels=["component"],
    )
    for component, result in results.items():
        up.add_metric([component], 1.0 if result.ok else 0.0)
    return [up]


def dataplane_families(reply: HealthReply) -> list[Metric]:
    """The live readings of the dataplane's last health reply."""
    status = reply.status
    info = GaugeMetricFamily(
        "dqp_dataplane_info",
        "The running dataplane: its boot (a new one after every restart) and versions.",
        labels=["boot_id", "implementation_version", "spark_version"],
    )
    info.add_metric([reply.boot_id, status.implementation_version, status.spark_version], 1.0)
    families: list[Metric] = [
        info,
        _gauge(
            "dqp_dataplane_start_time_seconds",
            "When the running dataplane started, in seconds since the epoch.",
            reply.started_at.timestamp(),
        ),
        _gauge(
            "dqp_dataplane_pool_parallelism",
            "Operations the dataplane runs at once.",
            status.thread_pool_parallelism,
        ),
        _gauge("dqp_dataplane_executors", "Executors of the dataplane.", status.max_executors),
        _gauge(
            "dqp_dataplane_executor_memory_bytes",
            "Memory per executor.",
            status.max_memory_per_executor_mb * MIB,
        ),
        _gauge("dqp_dataplane_executor_cores", "Cores per executor.", status.cores_per_executor),
        _gauge(
            "dqp_dataplane_driver_free_memory_bytes",
            "Free heap of the Spark driver.",
            status.driver_free_memory_mb * MIB,
        ),
    ]
    if reply.pool is not None:
        running = len(reply.pool.running)
        queued, channels = reply.pool.queued_requests, reply.pool.provisioned_channels
        families += [
            _gauge("dqp_dataplane_pool_running", "Operations the dataplane runs now.", running),
            _gauge(
                "dqp_dataplane_pool_queued", "Operations waiting in the dataplane's pool.", queued
            ),
            _gauge(
                "dqp_dataplane_broker_channels",
                "Broker channels the dataplane holds open.",
                channels,
            ),
        ]
    return families


def operation_families(counts: OperationCounts) -> list[Metric]:
    by_result = GaugeMetricFamily(
        "dqp_operations",
        "Operations in the database by type and result (queued, running, success, failure, "
        "aborted).",
        labels=["type", "result"],
    )
    for (kind, result), count in sorted(counts.items()):
        by_result.add_metric([kind, result], count)
    queued = sum(count for (_, result), count in counts.items() if result == "queued")
    return [
        by_result,
        _gauge(
            "dqp_operations_queue_depth",
            "Operations requested and not yet started by a dataplane.",
            queued,
        ),
    ]


class OperationCounter:
    """Counts operations for scrapes: one query in flight at a time, bounded by a deadline."""

    def __init__(self, count: Callable[[], OperationCounts], deadline: float):
        self._count = count
        self._deadline = deadline
        self._inflight: asyncio.Future[OperationCounts] | None = None

    async def read(self) -> OperationCounts | None:
        """The counts, or None (logged) when the database does not answer in time."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(asyncio.to_thread(self._count))
        try:
            async with asyncio.timeout(self._deadline):
                # shield: a scrape that gives up leaves the query to the next one.
                return await asyncio.shield(self._inflight)
        except Exception as exc:
            logger.warning("operations not counted for the metrics: %s", type(exc).__name__)
            return None


async def scrape(app: FastAPI) -> bytes:
    """The metrics in Prometheus' text format."""
    status: StatusService = app.state.status
    database, broker, dataplane = await asyncio.gather(
        status.database.result(), status.broker.result(), status.dataplane.result()
    )
    families: list[Metric] = component_families(
        {"database": database, "broker": broker, "dataplane": dataplane}
    )
    if dataplane.ok and isinstance(dataplane.value, HealthReply):
        families += dataplane_families(dataplane.value)
    counter: OperationCounter | None = getattr(app.state, "operation_counter", None)
    if database.ok and counter is not None:
        counts = await counter.read()
        if counts is not None:
            families += operation_families(counts)
    families += _event_families()
    return generate_latest(_Families(families))


class _Families:
    """Metric families gathered beforehand, in the shape the text encoder reads."""

    def __init__(self, families: list[Metric]):
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families
