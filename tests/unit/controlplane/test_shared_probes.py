"""Probe results shared between server processes: one probe per window for all the workers.

Each CoalescedProbe here stands for one uvicorn worker: its SharedResult opens the files on
its own, so the lock between them is a real flock conflict, as between two processes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dqplatform.controlplane.platform.probes import CoalescedProbe, ProbeResult, SharedResult
from dqplatform.messaging.schemas import DataplaneStatus, HealthReply

pytestmark = pytest.mark.anyio


class Counted:
    """A check that counts its calls and answers `value` after `delay` seconds."""

    def __init__(self, value: object, delay: float = 0.0):
        self.value = value
        self.delay = delay
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.value


def _worker(folder: Path, check: Counted, max_age: float = 5.0) -> CoalescedProbe:
    return CoalescedProbe(check, 1.0, max_age, SharedResult(folder, "dataplane"))


async def test_a_second_worker_reuses_the_result_the_first_one_shared(tmp_path: Path) -> None:
    first_check, second_check = Counted({"a": "OK"}), Counted({"b": "other"})
    first, second = _worker(tmp_path, first_check), _worker(tmp_path, second_check)
    one = await first.result()
    two = await second.result()
    assert (first_check.calls, second_check.calls) == (1, 0)
    assert (first.runs, second.runs) == (1, 0)
    assert two.ok and two.value == {"a": "OK"}
    assert two.checked_at == one.checked_at
    assert two.monotonic == one.monotonic  # its age counts from the real probe


async def test_a_worker_waits_for_the_probe_another_one_is_running(tmp_path: Path) -> None:
    slow, other = Counted("fine", delay=0.3), Counted("never")
    first, second = _worker(tmp_path, slow), _worker(tmp_path, other)
    running = asyncio.create_task(first.result())
    await asyncio.sleep(0.05)  # the first worker holds the lock and probes
    started = time.monotonic()
    result = await second.result()
    assert result.value == "fine"
    assert other.calls == 0
    assert time.monotonic() - started < 0.5
    await running
    assert slow.calls == 1


async def test_an_aged_result_is_probed_again_by_one_worker_only(tmp_path: Path) -> None:
    checks = [Counted(n) for n in range(3)]
    workers = [_worker(tmp_path, check, max_age=0.2) for check in checks]
    await asyncio.gather(*(worker.result() for worker in workers))
    assert sum(check.calls for check in checks) == 1
    await asyncio.sleep(0.25)
    await asyncio.gather(*(worker.result() for worker in workers))
    assert sum(check.calls for check in checks) == 2


async def test_forget_makes_every_worker_probe_afresh(tmp_path: Path) -> None:
    first_check, second_check = Counted("old"), Counted("new")
    first, second = _worker(tmp_path, first_check), _worker(tmp_path, second_check)
    await first.result()
    first.forget()  # as after a restart: the shared result goes too
    assert (await second.result()).value == "new"
    assert second_check.calls == 1


async def test_a_stuck_prober_costs_the_others_no_more_than_the_deadline(tmp_path: Path) -> None:
    stuck = SharedResult(tmp_path, "dataplane")
    assert stuck.try_lock()  # a worker that took the lock and never finishes
    try:
        check = Counted("unused")
        waiting = CoalescedProbe(check, 0.3, 5.0, SharedResult(tmp_path, "dataplane"))
        started = time.monotonic()
        result = await waiting.result()
        assert 0.3 <= time.monotonic() - started < 0.6
        assert not result.ok
        assert result.reason == "no answer within 0.3 s"
        assert check.calls == 0
    finally:
        stuck.unlock()


async def test_a_health_reply_comes_back_from_the_file_as_it_went_in(tmp_path: Path) -> None:
    reply = HealthReply(
        in_reply_to="req-1",
        status=DataplaneStatus(
            build_date="2026-03-28",
            implementation_version="2.8.1",
            git_hash="60de4a5",
            spark_version="3.5.1",
            driver_free_memory_mb=4096,
            max_executors=8,
            max_memory_per_executor_mb=8192,
            cores_per_executor=4,
            max_dataframe_size_mb=2048,
            thread_pool_parallelism=16,
            thread_pool_state="0 running operations [] with 0 queued requests and "
            "10 provisioned channels",
        ),
        boot_id="boot-1",
        pid=4242,
        started_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
    )
    codec = (lambda value: value.model_dump(mode="json"), HealthReply.model_validate)
    SharedResult(tmp_path, "dataplane", *codec).write(
        ProbeResult(True, 12.5, datetime.now(UTC), value=reply)
    )
    read = SharedResult(tmp_path, "dataplane", *codec).read()
    assert read is not None and read.ok and read.latency_ms == 12.5
    assert read.value == reply


async def test_an_unreadable_file_means_probing_not_failing(tmp_path: Path) -> None:
    (tmp_path / "dataplane.json").write_text("{not json")
    check = Counted("fresh")
    result = await _worker(tmp_path, check).result()
    assert result.value == "fresh"
    assert check.calls == 1
