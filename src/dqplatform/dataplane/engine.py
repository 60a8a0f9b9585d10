"""The dataplane's SparkSession and the live readings taken from it."""

from __future__ import annotations

import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pyspark.sql import SparkSession

from dqplatform.settings import Settings

logger = logging.getLogger(__name__)

APP_NAME = "dqplatform-dataplane"
MIB = 1024 * 1024
READINGS_TIMEOUT_SECONDS = 1.0
CANCEL_TIMEOUT_SECONDS = 5.0
# Spark's own default for spark.executor.memory; used only if the live value is unreadable.
_SPARK_DEFAULT_EXECUTOR_MEMORY_MB = 1024
# spark.dynamicAllocation.maxExecutors defaults to Int.MaxValue, which means "no ceiling".
_JVM_INT_MAX = 2**31 - 1
# The configuration keys the cluster readings depend on.
_CLUSTER_KEYS = (
    "spark.executor.cores",
    "spark.executor.instances",
    "spark.executor.memory",
    "spark.cores.max",
    "spark.dynamicAllocation.enabled",
    "spark.dynamicAllocation.maxExecutors",
)

# Where distributions install JDBC drivers (Debian: libpostgresql-jdbc-java, libmariadb-java;
# MySQL's own .deb: mysql-connector-j). DQP_JDBC_JARS replaces this list.
KNOWN_JDBC_JARS = (
    "/usr/share/java/postgresql.jar",
    "/usr/share/java/mariadb-java-client.jar",
    "/usr/share/java/mysql-connector-j.jar",
    "/usr/share/java/mysql-connector-java.jar",
)

T = TypeVar("T")


class EngineNotRunning(RuntimeError):
    """The SparkSession is not started (or already stopped)."""


class EngineUnresponsive(TimeoutError):
    """The driver JVM did not answer within the deadline."""


@dataclass(frozen=True, slots=True)
class EngineReadings:
    spark_version: str
    driver_free_memory_mb: int
    max_executors: int
    max_memory_per_executor_mb: int
    cores_per_executor: int


# --- parsing helpers -----------------------------------------------------------------------

_MEMORY = re.compile(r"(\d+)(?:([kmgtp])b?|(b))?")
_UNIT_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40, "p": 50}
_LOCAL_N = re.compile(r"local\[\s*(\d+|\*)\s*(?:,\s*\d+\s*)?\]")


def parse_memory_mb(text: str) -> int:
    """A Spark memory string ("4g", "512m", "1024k", "2048") in whole MiB.

    The suffixes are Spark's (b, k/kb, m/mb, g/gb, t/tb, p/pb, powers of 1024); like
    spark.executor.memory, a bare number means MiB. Fractions are refused, as Spark does.
    """
    match = _MEMORY.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"not a Spark memory size: {text!r}")
    amount, unit, in_bytes = int(match[1]), match[2], match[3]
    if in_bytes:
        return amount // MIB
    if not unit:
        return amount
    return (amount << _UNIT_SHIFT[unit]) // MIB


def local_thread_count(master: str, available_processors: int) -> int | None:
    """Task threads of a local master ("local", "local[4]", "local[*]", "local[2,3]").

    None for a master with real executors (spark://, k8s://, yarn, local-cluster[...]).
    """
    master = master.strip()
    if master == "local":
        return 1
    match = _LOCAL_N.fullmatch(master)
    if match is None:
        if master.startswith("local") and not master.startswith("local-cluster["):
            raise ValueError(f"not a Spark master URL: {master!r}")
        return None
    threads = available_processors if match[1] == "*" else int(match[1])
    if threads < 1:
        raise ValueError(f"a local master needs at least one thread: {master!r}")
    return threads


def _int_setting(conf: Mapping[str, str], key: str) -> int | None:
    value = conf.get(key, "").strip()
    return int(value) if value.isdigit() else None


def cluster_max_executors(conf: Mapping[str, str], live_executors: int) -> int:
    """The executor ceiling the configuration sets, never below what is live now."""
    if conf.get("spark.dynamicAllocation.enabled", "").strip().lower() == "true":
        ceiling = _int_setting(conf, "spark.dynamicAllocation.maxExecutors")
        if ceiling is not None and ceiling < _JVM_INT_MAX:
            return max(ceiling, live_executors)
    else:
        instances = _int_setting(conf, "spark.executor.instances")
        if instances is not None:
            return max(instances, live_executors)
    # Standalone without instances: spark.cores.max caps how many executors fit.
    cores_max = _int_setting(conf, "spark.cores.max")
    executor_cores = _int_setting(conf, "spark.executor.cores")
    if cores_max and executor_cores:
        return max(cores_max // executor_cores, live_executors)
    return live_executors


def cluster_cores_per_executor(conf: Mapping[str, str], live_cores: int | None, master: str) -> int:
    """Cores of a live executor, else spark.executor.cores, else the cluster manager's default.

    0 when nothing says: a standalone executor takes all of its worker's cores, which are
    unknown until one registers.
    """
    if live_cores:
        return live_cores
    configured = _int_setting(conf, "spark.executor.cores")
    if configured:
        return configured
    return 1 if master.startswith(("yarn", "k8s://")) else 0


def jdbc_jars(settings: Settings) -> list[str]:
    """The JDBC driver jars Spark loads: DQP_JDBC_JARS, else the known locations that exist.

    A configured jar that is missing is left out with a warning: Spark would only log it and
    fail later, on the first read through that driver."""
    if settings.jdbc_jars is None:
        return [path for path in KNOWN_JDBC_JARS if os.path.isfile(path)]
    jars = []
    for path in (part.strip() for part in settings.jdbc_jars.split(",")):
        if not path:
            continue
        if os.path.isfile(path):
            jars.append(os.path.abspath(path))
        else:
            logger.warning("JDBC jar %s (DQP_JDBC_JARS) does not exist; not loaded", path)
    return jars


# --- one thread for JVM calls, so a wedged JVM costs callers a deadline, not a thread ------


class _JvmCaller:
    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None]
        self._calls = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="dqp-jvm-calls", daemon=True)
        self._thread.start()

    def submit(self, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._calls.put((call, future))
        return future

    def close(self) -> None:
        self._calls.put(None)

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            call, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)


def _wait(future: Future[T], timeout: float, what: str) -> T:
    try:
        return future.result(timeout)
    except FutureTimeout:
        raise EngineUnresponsive(
            f"the Spark driver JVM did not answer {what} within {timeout:g} s"
        ) from None


# --- the engine ----------------------------------------------------------------------------


class SparkEngine:
    """Owns the dataplane's SparkSession: start, stop, readings, job groups."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lifecycle = threading.Lock()  # start and stop
        self._lock = threading.Lock()  # the state readings and cancellations look at
        self._session: SparkSession | None = None
        self._caller: _JvmCaller | None = None
        self._runtime: Any = None
        self._conf: dict[str, str] = {}
        self._pending_readings: Future[EngineReadings] | None = None
        self._started_at: datetime | None = None

    @property
    def spark_dir(self) -> str:
        return str((self.settings.data_dir / "spark").resolve())

    def start(self) -> None:
        # Starting takes seconds: it holds the lifecycle lock only, so concurrent readings
        # are refused at once instead of waiting for it.
        with self._lifecycle:
            if self._session is not None:
                raise RuntimeError("the Spark engine is already started")
            session = self._build_session()
            try:
                sc = session.sparkContext
                sc.setLogLevel("WARN")
                runtime = sc._jvm.java.lang.Runtime.getRuntime()  # type: ignore[union-attr]
                # SparkConf is immutable once the context runs: one snapshot is the live value.
                conf = {key: value for key in _CLUSTER_KEYS if (value := sc._conf.get(key))}
            except BaseException:
                session.stop()
                raise
            with self._lock:
                self._session, self._runtime, self._conf = session, runtime, conf
                self._caller = _JvmCaller()
                self._started_at = datetime.now(UTC)
        try:
            # Warms the JVM-call thread's py4j connection, so the first probe is as fast as any.
            readings = self.readings(timeout=30)
        except BaseException:
            self.stop()
            raise
        logger.info("Spark %s started with master %s", readings.spark_version, sc.master)

    def _build_session(self) -> SparkSession:
        spark_dir = self.spark_dir
        os.makedirs(os.path.join(spark_dir, "local"), exist_ok=True)
        master = self.settings.spark_master
        builder = (
            SparkSession.builder.master(master)
            .appName(APP_NAME)
            .config("spark.driver.memory", self.settings.spark_driver_memory)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.local.dir", os.path.join(spark_dir, "local"))
            .config("spark.sql.warehouse.dir", os.path.join(spark_dir, "warehouse"))
        )
        jars = jdbc_jars(self.settings)
        if jars:
            builder = builder.config("spark.jars", ",".join(jars))
        if local_thread_count(master, os.cpu_count() or 1) is not None:
            # Nothing outside this machine talks to a local driver: keep it off the network,
            # and run Python tasks with this interpreter, which has our dependencies.
            builder = builder.config("spark.driver.host", "127.0.0.1").config(
                "spark.driver.bindAddress", "127.0.0.1"
            )
            if "PYSPARK_PYTHON" not in os.environ:
                builder = builder.config("spark.pyspark.python", sys.executable)
        # DQP_SPARK_CONF comes last: the operator's word wins over the choices above.
        for key, value in self.settings.spark_conf_pairs.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()

    def stop(self) -> None:
        """Stop the SparkSession; calling it again, or before start, does nothing."""
        with self._lifecycle:
            with self._lock:
                session, self._session = self._session, None
                caller, self._caller = self._caller, None
                self._runtime = None
                self._pending_readings = None
                self._started_at = None
            if caller is not None:
                caller.close()
            if session is None:
                return
            try:
                session.stop()
            except Exception:
                logger.exception("stopping the SparkSession failed")
            logger.info("Spark stopped")

    @property
    def session(self) -> SparkSession:
        session = self._session
        if session is None:
            raise EngineNotRunning("the Spark engine is not running")
        return session

    @property
    def started_at(self) -> datetime | None:
        """When the running session became ready (UTC); None when not running."""
        return self._started_at

    # --- readings --------------------------------------------------------------------------

    def readings(self, timeout: float = READINGS_TIMEOUT_SECONDS) -> EngineReadings:
        """A live reading of the driver and the cluster; EngineUnresponsive past `timeout`."""
        with self._lock:
            if self._caller is None:
                raise EngineNotRunning("the Spark engine is not running")
            # Concurrent callers share the reading in flight instead of queueing more calls
            # behind a JVM that may be wedged.
            future = self._pending_readings
            if future is None or future.done():
                future = self._caller.submit(self._read)
                self._pending_readings = future
        return _wait(future, timeout, "a readings request")

    def _read(self) -> EngineReadings:
        session, runtime = self._session, self._runtime
        if session is None or runtime is None:
            raise EngineNotRunning("the Spark engine stopped during a reading")
        sc = session.sparkContext
        max_heap = int(runtime.maxMemory())
        used = int(runtime.totalMemory()) - int(runtime.freeMemory())
        free_mb = max(0, max_heap - used) // MIB
        version = session.version
        master = sc.master or self.settings.spark_master
        threads = local_thread_count(master, int(runtime.availableProcessors()))
        if threads is not None:
            # Local mode: the driver JVM is the one executor and runs `threads` tasks at once.
            return EngineReadings(version, free_mb, 1, max_heap // MIB, threads)
        jsc = sc._jsc.sc()  # type: ignore[union-attr]
        # Every executor and the driver register one block manager each.
        live = max(0, int(jsc.getExecutorMemoryStatus().size()) - 1)
        return EngineReadings(
            spark_version=version,
            driver_free_memory_mb=free_mb,
            max_executors=cluster_max_executors(self._conf, live),
            max_memory_per_executor_mb=self._executor_memory_mb(jsc),
            cores_per_executor=cluster_cores_per_executor(
                self._conf, _live_executor_cores(jsc), master
            ),
        )

    def _executor_memory_mb(self, jsc: Any) -> int:
        try:
            # What Spark asks the cluster manager for per executor, env and defaults applied.
            return int(jsc.executorMemory())
        except Exception:
            logger.debug("live executor memory unreadable; using the configuration")
        if "spark.executor.memory" in self._conf:
            return parse_memory_mb(self._conf["spark.executor.memory"])
        return _SPARK_DEFAULT_EXECUTOR_MEMORY_MB

    # --- job groups ------------------------------------------------------------------------

    @contextmanager
    def job_group(self, group_id: str, description: str | None = None) -> Iterator[None]:
        """Tag the Spark jobs this thread starts with `group_id`, so they can be cancelled."""
        if not group_id:
            raise ValueError("a job group needs a non-empty id")
        sc = self.session.sparkContext
        sc.setJobGroup(group_id, description or group_id, interruptOnCancel=True)
        try:
            yield
        finally:
            try:
                # Pool threads are reused: the next operation must not inherit this group.
                sc._jsc.clearJobGroup()  # type: ignore[union-attr]
            except Exception:
                logger.debug("could not clear job group %s", group_id, exc_info=True)

    def cancel_job_group(self, group_id: str, timeout: float = CANCEL_TIMEOUT_SECONDS) -> None:
        """Cancel the running jobs of `group_id`; nothing to do when Spark is not running."""
        with self._lock:
            caller, session = self._caller, self._session
        if caller is None or session is None:
            return
        sc = session.sparkContext
        _wait(caller.submit(lambda: sc.cancelJobGroup(group_id)), timeout, "a cancellation")


def _live_executor_cores(jsc: Any) -> int | None:
    """Cores of one registered executor (they share one resource profile), if any."""
    try:
        summaries = jsc.statusStore().executorList(True)
        # At most one entry is the driver, so two looks find an executor when there is one.
        for index in range(min(2, int(summaries.size()))):
            summary = summaries.apply(index)
            if summary.id() != "driver":
                return int(summary.totalCores())
    except Exception:
        logger.debug("executor cores unreadable from the status store", exc_info=True)
    return None
