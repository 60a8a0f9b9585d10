"""Bounded probes and coalescing: a burst of callers causes one check."""

from __future__ import annotations

import asyncio
import time

import pytest

from dqplatform.controlplane.platform.probes import CoalescedProbe, run_probe

pytestmark = pytest.mark.anyio


async def test_a_hanging_check_answers_within_its_deadline() -> None:
    async def hang() -> None:
        await asyncio.sleep(30)

    started = time.monotonic()
    result = await run_probe(hang, deadline=0.2)
    assert time.monotonic() - started < 0.5
    assert not result.ok
    assert result.reason == "no answer within 0.2 s"


async def test_a_failing_check_reports_why() -> None:
    async def refuse() -> None:
        raise ConnectionRefusedError("connection refused")

    result = await run_probe(refuse, deadline=1)
    assert not result.ok
    assert result.reason == "connection refused"


async def test_a_thousand_concurrent_callers_share_one_check() -> None:
    calls = 0

    async def slow_ok() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "fine"

    probe = CoalescedProbe(slow_ok, deadline=1, max_age=0.5)
    results = await asyncio.gather(*(probe.result() for _ in range(1000)))
    assert calls == 1
    assert all(result.ok and result.value == "fine" for result in results)
    await probe.result()  # fresh enough: reused
    assert calls == 1
    await asyncio.sleep(0.6)
    await probe.result()  # aged out: checked again
    assert calls == 2


async def test_a_caller_that_gives_up_does_not_cancel_the_shared_check() -> None:
    async def slow_ok() -> str:
        await asyncio.sleep(0.2)
        return "done"

    probe = CoalescedProbe(slow_ok, deadline=1, max_age=5)
    impatient = asyncio.create_task(probe.result())
    patient = asyncio.create_task(probe.result())
    await asyncio.sleep(0.05)
    impatient.cancel()
    result = await patient
    assert result.ok and result.value == "done"


def test_a_probe_left_pending_by_a_closed_loop_does_not_break_the_next_loop() -> None:
    """Starlette's TestClient without `with` runs each request on a loop of its own: a probe
    the first loop left unfinished must not be awaited from the second (CI: RuntimeError)."""

    async def slow_ok() -> str:
        await asyncio.sleep(0.3)
        return "ok"

    probe = CoalescedProbe(slow_ok, deadline=1, max_age=0)

    async def give_up_early() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(probe.result(), 0.05)

    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(give_up_early())
    finally:
        first.close()  # the shared probe task is still pending on it

    result = asyncio.run(probe.result())
    assert result.ok
    assert probe.runs == 2


async def test_callers_do_not_wait_the_deadline_again_for_a_component_that_just_failed() -> None:
    outcomes = iter(["fail", "slow-ok"])

    async def check() -> str:
        if next(outcomes) == "fail":
            raise ConnectionRefusedError("connection refused")
        await asyncio.sleep(0.5)
        return "ok"

    probe = CoalescedProbe(check, deadline=2, max_age=0)
    failed = await probe.result()
    assert not failed.ok

    started = time.monotonic()
    again = await probe.result()  # the re-check takes 0.5 s: the last failure is given
    assert time.monotonic() - started < 0.4
    assert again is failed

    await asyncio.sleep(0.6)  # the re-check ended meanwhile and is the result from now on
    assert probe.last is not None and probe.last.ok
    assert probe.runs == 2


async def test_callers_wait_for_a_check_that_was_ok_last_time() -> None:
    async def slow_ok() -> str:
        await asyncio.sleep(0.3)
        return "ok"

    probe = CoalescedProbe(slow_ok, deadline=2, max_age=0)
    assert (await probe.result()).ok
    started = time.monotonic()
    assert (await probe.result()).ok
    assert time.monotonic() - started >= 0.25


async def test_a_caller_cancelled_as_the_recheck_ends_is_cancelled() -> None:
    """CI hung 300 s at shutdown: the operations reconciler, cancelled in the instant its
    re-check finished, went on. Python 3.11's wait_for then returns the result and drops the
    cancellation (python/cpython#86296), so the lifespan waited for the task for ever."""
    release = asyncio.Event()
    outcomes = iter(["fail", "wait"])

    async def check() -> str:
        if next(outcomes) == "fail":
            raise ConnectionRefusedError("connection refused")
        await release.wait()
        return "ok"

    probe = CoalescedProbe(check, deadline=2, max_age=0)
    assert not (await probe.result()).ok  # a recent failure: the next caller waits briefly
    caller = asyncio.create_task(probe.result())
    await asyncio.sleep(0.01)  # the caller waits on the re-check
    inflight = probe._inflight
    assert inflight is not None and not caller.done()
    release.set()
    # Awaiting the re-check resumes this test after the caller's own callbacks have been
    # queued, but before the caller has run: the moment of the race, made certain.
    await inflight
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
