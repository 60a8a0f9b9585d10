"""Faults that more than one platform goes through: the same steps, the same verdict."""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil

from tests.e2e.harness import wait_until
from tests.faults.live import LivePlatform
from tests.faults.verdict import Figures, judge, wait_all_ok, watch_healthy
from tests.faults.watch import StatusWatcher

BURST = 20


def wait_gone(pid: int, timeout: float) -> float:
    """Wait until the process has exited; return when that was seen (monotonic)."""

    def gone() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(gone, timeout, interval=0.05)
    return time.monotonic()


def restart_burst(platform: LivePlatform, before: Callable[[], None] | None = None) -> Figures:
    """Twenty PUT /api/admin/restart within one second cause exactly one restart. `before`
    runs once the platform is healthy, just before the burst (to start an operation, say)."""
    restarts = platform.dataplane_restarts()
    controlplane = platform.pid_of("controlplane")
    with StatusWatcher(platform.url, platform.token, ledger=platform.ledger) as watcher:
        wait_all_ok(watcher, 120)
        if before is not None:
            before()
        old = platform.pid_of("dataplane")
        assert old is not None
        first_at = watcher.mark("first restart call")
        answers = []
        for index in range(BURST):
            time.sleep(max(0.0, first_at + index / BURST - time.monotonic()))
            response = platform.api("PUT", "/api/admin/restart")
            answers.append((response.status_code, response.content))
        assert time.monotonic() - first_at < 1.5
        assert answers == [(200, b"")] * BURST
        gone_at = wait_gone(old, 60)
        new = platform.wait_new_pid("dataplane", old, 60)
        new_at = time.monotonic()
        wait_all_ok(watcher, 120)
        watch_healthy(watcher)
    verdict = judge(
        watcher,
        cut={"dataplane"},
        fault_at=first_at,
        restored_at=first_at,
        recover_within=120,
        # No dataplane exists between these two moments: any OK would be a lie.
        truthful_from=gone_at + 0.5,
        truthful_until=new_at,
    )
    # One restart, not twenty, and no loop: the same new dataplane all along.
    assert platform.dataplane_restarts() == restarts + 1
    assert platform.pid_of("dataplane") == new
    assert platform.pid_of("controlplane") == controlplane
    return verdict
