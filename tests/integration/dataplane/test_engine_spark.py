"""One real local SparkSession: its readings checked against facts read independently."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyspark
import pytest
from pyspark import SparkContext

from dqplatform.dataplane.engine import MIB, EngineNotRunning, EngineUnresponsive, SparkEngine
from dqplatform.dataplane.pool import CancelToken, OperationPool
from dqplatform.settings import Settings

pytestmark = pytest.mark.integration


class Started:
    def __init__(self, engine: SparkEngine, root: Path, before: datetime, after: datetime):
        self.engine = engine
        self.root = root
        self.before = before
        self.after = after

    @property
    def sc(self) -> SparkContext:
        return self.engine.session.sparkContext

    @property
    def jvm(self) -> Any:
        return self.sc._jvm


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    root = tmp_path_factory.mktemp("engine")
    (root / "cwd").mkdir()
    previous = os.getcwd()
    # The JVM inherits the working directory: whatever Spark writes there would show up here.
    os.chdir(root / "cwd")
    settings = Settings(data_dir=root / "data", spark_master="local[2]", spark_driver_memory="512m")
    engine = SparkEngine(settings)
    try:
        before = datetime.now(UTC)
        engine.start()
        yield Started(engine, root, before, datetime.now(UTC))
    finally:
        engine.stop()
        os.chdir(previous)


def heap_max_mb(jvm: Any) -> int:
    usage = jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage()
    return int(usage.getMax()) // MIB


def heap_free_mb(jvm: Any) -> int:
    usage = jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage()
    return (int(usage.getMax()) - int(usage.getUsed())) // MIB


def test_readings_match_independent_facts(started: Started) -> None:
    readings = started.engine.readings()
    assert readings.spark_version == pyspark.__version__
    assert readings.max_executors == 1
    assert readings.cores_per_executor == 2 == started.sc.defaultParallelism
    # The driver was started with -Xmx512m; the management bean reads the same heap.
    assert abs(readings.max_memory_per_executor_mb - heap_max_mb(started.jvm)) <= 1
    assert 400 <= readings.max_memory_per_executor_mb <= 512
    assert 0 < readings.driver_free_memory_mb < readings.max_memory_per_executor_mb
    assert abs(readings.driver_free_memory_mb - heap_free_mb(started.jvm)) <= 64
    started_at = started.engine.started_at
    assert started_at is not None
    assert started.before <= started_at <= started.after
    assert started_at.tzinfo is UTC


def test_free_memory_follows_the_heap(started: Started) -> None:
    system = started.jvm.java.lang.System
    system.gc()
    baseline = started.engine.readings().driver_free_memory_mb
    block = started.jvm.java.nio.ByteBuffer.allocate(128 * MIB)  # on the driver heap
    holding = started.engine.readings().driver_free_memory_mb
    assert holding <= baseline - 100
    # py4j releases the JVM's reference from a finalizer thread, some time after detach.
    started.sc._gateway.detach(block)
    deadline = time.monotonic() + 15
    while started.engine.readings().driver_free_memory_mb < holding + 100:
        assert time.monotonic() < deadline, "the freed block never showed in the reading"
        system.gc()
        time.sleep(0.1)


def test_readings_are_cheap(started: Started) -> None:
    durations = []
    for _ in range(50):
        began = time.perf_counter()
        started.engine.readings()
        durations.append((time.perf_counter() - began) * 1000)
    p95 = statistics.quantiles(durations, n=20)[-1]
    print(f"readings(): median {statistics.median(durations):.2f} ms, p95 {p95:.2f} ms")
    assert statistics.median(durations) < 50
    assert p95 < 50


def test_readings_while_a_job_runs_and_cancel_by_job_group(started: Started) -> None:
    engine, sc = started.engine, started.sc
    outcome: dict[str, object] = {}

    def operation() -> None:
        try:
            with engine.job_group("op-slow"):
                sc.parallelize(range(2), 2).foreach(lambda _: time.sleep(120))
        except Exception as exc:
            outcome["error"] = str(exc)
        # The thread is reused by the pool: its next jobs must not carry the group.
        outcome["group_after"] = sc.getLocalProperty("spark.jobGroup.id")

    thread = threading.Thread(target=operation)
    thread.start()
    deadline = time.monotonic() + 60
    tracker = sc.statusTracker()
    while not set(tracker.getJobIdsForGroup("op-slow")) & set(tracker.getActiveJobsIds()):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)

    # Both task slots are busy; the readings still answer from this thread, quickly.
    durations = []
    for _ in range(10):
        began = time.perf_counter()
        readings = engine.readings()
        durations.append(time.perf_counter() - began)
        assert readings.cores_per_executor == 2
    assert statistics.median(durations) < 0.05

    began = time.monotonic()
    engine.cancel_job_group("op-slow")
    thread.join(30)
    assert not thread.is_alive()
    assert time.monotonic() - began < 30
    assert "cancel" in str(outcome["error"]).lower()
    assert outcome["group_after"] is None


def test_pool_shutdown_interrupts_a_running_spark_job(started: Started) -> None:
    engine, sc = started.engine, started.sc
    pool = OperationPool(2)

    def operation(token: CancelToken) -> None:
        token.on_cancel(lambda: engine.cancel_job_group(token.operation_id))
        with engine.job_group(token.operation_id):
            sc.parallelize(range(2), 2).foreach(lambda _: time.sleep(120))

    future = pool.submit("op-spark", operation)
    tracker = sc.statusTracker()
    deadline = time.monotonic() + 60
    while not set(tracker.getJobIdsForGroup("op-spark")) & set(tracker.getActiveJobsIds()):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    assert pool.state(3).describe() == (
        "1 running operations [op-spark] with 0 queued requests and 3 provisioned channels"
    )
    began = time.monotonic()
    assert pool.shutdown(grace_seconds=60) == ["op-spark"]
    assert time.monotonic() - began < 30  # the job was cancelled, not waited out
    assert "cancel" in str(future.exception(0)).lower()


def test_a_wedged_jvm_costs_the_deadline_and_recovers(started: Started) -> None:
    jvm_pid = started.sc._gateway.proc.pid
    assert Path(f"/proc/{jvm_pid}/comm").read_text().strip() == "java"
    started.engine.readings(timeout=10)  # no reading left in flight from an earlier test
    os.kill(jvm_pid, signal.SIGSTOP)  # the driver JVM stops answering, as when wedged
    try:
        _wait_until_every_thread_stopped(jvm_pid)
        for _ in range(3):
            began = time.monotonic()
            with pytest.raises(EngineUnresponsive, match="did not answer"):
                started.engine.readings(timeout=0.3)
            assert time.monotonic() - began < 1
        # Later callers shared the stuck reading: no calls pile up behind it.
        caller = started.engine._caller
        assert caller is not None and caller._calls.qsize() == 0
    finally:
        os.kill(jvm_pid, signal.SIGCONT)
    assert started.engine.readings(timeout=10).spark_version == pyspark.__version__


def _wait_until_every_thread_stopped(pid: int, timeout: float = 10) -> None:
    """SIGSTOP takes effect as each thread next runs: on a busy machine, not at once."""
    deadline = time.monotonic() + timeout
    while True:
        states = set()
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                # The state follows the command name, which is in parentheses.
                states.add((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that ended meanwhile
        if states <= {"T", "t"}:
            return
        assert time.monotonic() < deadline, f"JVM threads still in states {states}"
        time.sleep(0.01)


def test_spark_files_stay_under_the_data_dir(started: Started) -> None:
    session = started.engine.session
    spark_dir = started.root / "data" / "spark"
    session.sql("CREATE TABLE probe (id INT) USING parquet")
    assert (spark_dir / "warehouse" / "probe").is_dir()
    assert any((spark_dir / "local").iterdir())  # block manager and file server dirs
    assert list((started.root / "cwd").iterdir()) == []
    assert started.sc.uiWebUrl is None
    root_logger = started.jvm.org.apache.logging.log4j.LogManager.getRootLogger()
    assert root_logger.getLevel().toString() == "WARN"
    assert started.sc.appName == "dqplatform-dataplane"


CLUSTER_SCRIPT = textwrap.dedent(
    """
    import dataclasses, json, sys, time
    from dqplatform.dataplane.engine import SparkEngine
    from dqplatform.settings import Settings

    settings = Settings(
        data_dir=sys.argv[1], spark_master="local-cluster[2,1,1024]", spark_driver_memory="512m"
    )
    engine = SparkEngine(settings)
    engine.start()
    try:
        deadline = time.monotonic() + 90
        while engine.readings().max_executors < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        print(json.dumps(dataclasses.asdict(engine.readings())))
    finally:
        engine.stop()
    """
)


def test_cluster_readings_from_real_executors(tmp_path: Path) -> None:
    """A standalone master and two workers in one process, executors in their own JVMs."""
    env = dict(os.environ)
    # How an operator sets executor options: Spark's own submit arguments. The cores are
    # left unset, so only the registered executors (one core per worker) can tell them.
    env["PYSPARK_SUBMIT_ARGS"] = "--conf spark.executor.memory=768m pyspark-shell"
    done = subprocess.run(
        [sys.executable, "-c", CLUSTER_SCRIPT, str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    readings = json.loads(done.stdout.strip().splitlines()[-1])
    assert readings["spark_version"] == pyspark.__version__
    assert readings["max_executors"] == 2  # two executors; the driver is not one of them
    assert readings["cores_per_executor"] == 1
    assert readings["max_memory_per_executor_mb"] == 768
    assert 0 < readings["driver_free_memory_mb"] < 512


def test_stop_is_idempotent(started: Started) -> None:
    """Runs last: it stops the module's session."""
    engine = started.engine
    engine.stop()
    engine.stop()
    assert SparkContext._active_spark_context is None
    assert engine.started_at is None
    with pytest.raises(EngineNotRunning):
        engine.readings()
    with pytest.raises(EngineNotRunning):
        _ = engine.session
    engine.cancel_job_group("op-slow")
