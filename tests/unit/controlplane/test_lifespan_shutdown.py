"""Shutdown waits for each background task it cancels, but never for ever."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from dqplatform.controlplane.app import stop_background_task

pytestmark = pytest.mark.anyio


async def test_a_task_that_ends_on_cancellation_is_waited_for() -> None:
    ended = asyncio.Event()

    async def cooperative() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            ended.set()

    task = asyncio.create_task(cooperative(), name="cooperative")
    await asyncio.sleep(0)
    assert await stop_background_task(task, deadline=5)
    assert ended.is_set() and task.cancelled()


async def test_a_task_that_ignores_cancellation_does_not_hold_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    released = False

    async def stubborn() -> None:
        # What a task does after Python 3.11's wait_for has dropped its cancellation.
        while not released:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert not await stop_background_task(task, deadline=0.2)
    assert 0.2 <= time.monotonic() - started < 1.5
    assert "stubborn did not stop within 0.2 s" in caplog.text
    assert not task.done()
    released = True
    await task


async def test_a_task_that_had_failed_is_reported_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(broken(), name="broken")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING):
        assert await stop_background_task(task, deadline=1)
    assert "broken had failed: RuntimeError" in caplog.text
