"""The engine's parsing and cluster-reading rules, and its behaviour without a running JVM."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from dqplatform.dataplane.engine import (
    EngineNotRunning,
    EngineReadings,
    EngineUnresponsive,
    SparkEngine,
    _JvmCaller,
    _wait,
    cluster_cores_per_executor,
    cluster_max_executors,
    local_thread_count,
    parse_memory_mb,
)
from tests.conftest import SettingsFactory


@pytest.mark.parametrize(
    ("text", "mb"),
    [
        ("4g", 4096),
        ("4G", 4096),
        ("4gb", 4096),
        ("512m", 512),
        ("512mb", 512),
        ("1024k", 1),
        ("1536k", 1),
        ("512k", 0),
        ("2t", 2 * 1024 * 1024),
        ("1p", 1024**3),
        ("2048", 2048),  # a bare number is MiB, as for spark.executor.memory
        (" 1g ", 1024),
        ("1048576b", 1),
        ("0m", 0),
    ],
)
def test_parse_memory_mb(text: str, mb: int) -> None:
    assert parse_memory_mb(text) == mb


@pytest.mark.parametrize("text", ["", "g", "1.5g", "-1g", "4x", "4 g", "4gib", "four"])
def test_parse_memory_mb_refuses_what_spark_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="not a Spark memory size"):
        parse_memory_mb(text)


@pytest.mark.parametrize(
    ("master", "threads"),
    [
        ("local", 1),
        ("local[4]", 4),
        ("local[*]", 6),
        ("local[2,3]", 2),
        ("local[*, 4]", 6),
        (" local[1] ", 1),
        ("spark://10.0.0.1:7077", None),
        ("spark://a:7077,b:7077", None),
        ("k8s://https://kubernetes.default.svc", None),
        ("yarn", None),
        ("local-cluster[2,1,1024]", None),
    ],
)
def test_local_thread_count(master: str, threads: int | None) -> None:
    assert local_thread_count(master, available_processors=6) == threads


@pytest.mark.parametrize("master", ["local[0]", "local[x]", "local[]", "localhost", "local[2"])
def test_local_thread_count_refuses_bad_local_masters(master: str) -> None:
    with pytest.raises(ValueError, match="master"):
        local_thread_count(master, available_processors=6)


@pytest.mark.parametrize(
    ("conf", "live", "expected"),
    [
        ({}, 0, 0),
        ({}, 3, 3),
        ({"spark.executor.instances": "4"}, 2, 4),
        ({"spark.executor.instances": "4"}, 5, 5),  # a replacement registered before removal
        (
            {
                "spark.dynamicAllocation.enabled": "true",
                "spark.dynamicAllocation.maxExecutors": "10",
                "spark.executor.instances": "2",
            },
            2,
            10,
        ),
        # No ceiling set: Spark's default is Int.MaxValue, so only the live count is known.
        ({"spark.dynamicAllocation.enabled": "true"}, 3, 3),
        (
            {
                "spark.dynamicAllocation.enabled": "true",
                "spark.dynamicAllocation.maxExecutors": str(2**31 - 1),
            },
            1,
            1,
        ),
        ({"spark.cores.max": "16", "spark.executor.cores": "4"}, 1, 4),
        ({"spark.cores.max": "16"}, 2, 2),
        ({"spark.executor.instances": "junk"}, 2, 2),
    ],
)
def test_cluster_max_executors(conf: dict[str, str], live: int, expected: int) -> None:
    assert cluster_max_executors(conf, live) == expected


@pytest.mark.parametrize(
    ("conf", "live_cores", "master", "expected"),
    [
        ({"spark.executor.cores": "4"}, 8, "spark://m:7077", 8),
        ({"spark.executor.cores": "4"}, None, "spark://m:7077", 4),
        ({}, None, "yarn", 1),
        ({}, None, "k8s://https://api:6443", 1),
        ({}, None, "spark://m:7077", 0),
        ({}, 0, "spark://m:7077", 0),
    ],
)
def test_cluster_cores_per_executor(
    conf: dict[str, str], live_cores: int | None, master: str, expected: int
) -> None:
    assert cluster_cores_per_executor(conf, live_cores, master) == expected


def test_readings_are_frozen() -> None:
    readings = EngineReadings("4.3.0", 100, 1, 512, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        readings.max_executors = 2  # type: ignore[misc]


def test_engine_before_start_and_stop_idempotence(make_settings: SettingsFactory) -> None:
    engine = SparkEngine(make_settings(spark_master="local[2]"))
    assert engine.started_at is None
    with pytest.raises(EngineNotRunning):
        engine.readings()
    with pytest.raises(EngineNotRunning):
        _ = engine.session
    engine.cancel_job_group("op-1")  # nothing runs: nothing to cancel
    engine.stop()
    engine.stop()


def test_jvm_caller_answers_and_passes_errors_through() -> None:
    caller = _JvmCaller()
    try:
        assert _wait(caller.submit(lambda: 42), 1, "a test") == 42
        with pytest.raises(ZeroDivisionError):
            _wait(caller.submit(lambda: 1 // 0), 1, "a test")
    finally:
        caller.close()


def test_a_wedged_call_costs_callers_the_deadline_only() -> None:
    caller = _JvmCaller()
    wedged = threading.Event()
    try:
        caller.submit(lambda: wedged.wait(10))
        began = time.monotonic()
        with pytest.raises(EngineUnresponsive, match=r"did not answer a test within 0\.2 s"):
            _wait(caller.submit(lambda: 1), 0.2, "a test")
        assert time.monotonic() - began < 1
        wedged.set()
        assert _wait(caller.submit(lambda: 2), 1, "a test") == 2  # recovers once it answers
    finally:
        wedged.set()
        caller.close()
