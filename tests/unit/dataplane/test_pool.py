"""The operation pool with real threads: states, the documented text, cancel and shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError

import pytest

from dqplatform.dataplane.pool import (
    CancelToken,
    OperationCancelled,
    OperationPool,
    PoolClosedError,
)

WAIT = 5.0


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class Gate:
    """Work that records its start and blocks until released (or cancelled, if cooperative)."""

    def __init__(self, cooperative: bool = True):
        self.cooperative = cooperative
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, token: CancelToken) -> None:
        self.calls += 1
        self.started.set()
        while not self.release.wait(0.01):
            if self.cooperative:
                token.raise_if_cancelled()


@pytest.fixture
def pool() -> Iterator[OperationPool]:
    pool = OperationPool(2)
    yield pool
    pool.shutdown(grace_seconds=1)


def test_idle_pool_state_text() -> None:
    pool = OperationPool(3)
    try:
        assert pool.state(10).describe() == (
            "0 running operations [] with 0 queued requests and 10 provisioned channels"
        )
        assert pool.running_ids() == []
        assert pool.queued_count() == 0
    finally:
        pool.shutdown(1)


def test_states_while_operations_run_and_queue(pool: OperationPool) -> None:
    gates = {name: Gate() for name in ("op-48291", "op-48305", "op-1", "op-2", "op-3")}
    futures = {name: pool.submit(name, gate) for name, gate in gates.items()}
    wait_until(lambda: len(pool.running_ids()) == 2)

    assert pool.running_ids() == ["op-48291", "op-48305"]
    assert pool.queued_count() == 3
    assert pool.state(8).describe() == (
        "2 running operations [op-48291, op-48305] with 3 queued requests "
        "and 8 provisioned channels"
    )
    assert gates["op-1"].calls == 0

    # The first one finishes: the oldest queued one starts and runs after op-48305.
    gates["op-48291"].release.set()
    futures["op-48291"].result(WAIT)
    wait_until(lambda: pool.running_ids() == ["op-48305", "op-1"])
    assert pool.queued_count() == 2

    for name in ("op-48305", "op-1", "op-2"):
        gates[name].release.set()
    wait_until(lambda: pool.running_ids() == ["op-3"])
    assert pool.state(1).describe() == (
        "1 running operations [op-3] with 0 queued requests and 1 provisioned channels"
    )
    gates["op-3"].release.set()
    for future in futures.values():
        assert future.result(WAIT) is None
    wait_until(lambda: not pool.running_ids())
    assert pool.state(0).describe() == (
        "0 running operations [] with 0 queued requests and 0 provisioned channels"
    )


def test_duplicate_ids_are_refused_while_queued_or_running(pool: OperationPool) -> None:
    running, queued = Gate(), Gate()
    pool.submit("op-a", running)
    pool.submit("op-b", Gate())
    pool.submit("op-c", queued)
    wait_until(lambda: len(pool.running_ids()) == 2)
    with pytest.raises(ValueError, match="op-a is already queued or running"):
        pool.submit("op-a", Gate())
    with pytest.raises(ValueError, match="op-c is already queued or running"):
        pool.submit("op-c", Gate())
    assert pool.queued_count() == 1

    # Once finished, the id may be used again.
    running.release.set()
    wait_until(lambda: "op-a" not in pool.running_ids())
    again = Gate()
    again.release.set()
    future = pool.submit("op-a", again)
    pool.cancel("op-b")
    future.result(WAIT)
    assert again.calls == 1


@pytest.mark.parametrize("bad", ["", "op 1", "op,1", "op[1]", "x" * 201])
def test_ids_that_would_break_the_state_text_are_refused(pool: OperationPool, bad: str) -> None:
    with pytest.raises(ValueError, match="operation id"):
        pool.submit(bad, Gate())
    assert pool.queued_count() == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        OperationPool(0)
    pool = OperationPool(1)
    try:
        with pytest.raises(ValueError):
            pool.state(-1)
    finally:
        pool.shutdown(1)


def test_cancel_queued_running_and_unknown(pool: OperationPool) -> None:
    first, second, waiting = Gate(), Gate(), Gate()
    hook_calls: list[str] = []

    def with_hook(token: CancelToken) -> None:
        token.on_cancel(lambda: hook_calls.append(token.operation_id))
        first(token)

    running_future = pool.submit("op-run", with_hook)
    pool.submit("op-other", second)
    queued_future = pool.submit("op-queued", waiting)
    wait_until(lambda: len(pool.running_ids()) == 2)

    assert pool.cancel("op-queued") is True
    assert queued_future.cancelled()
    assert pool.queued_count() == 0
    assert pool.cancel("op-run") is True
    with pytest.raises(OperationCancelled, match="op-run was cancelled"):
        running_future.result(WAIT)
    assert hook_calls == ["op-run"]
    assert pool.cancel("op-missing") is False
    assert pool.cancel("op-queued") is False

    second.release.set()
    wait_until(lambda: not pool.running_ids())
    assert waiting.calls == 0


def test_cancelling_a_queued_future_leaves_the_queue(pool: OperationPool) -> None:
    pool.submit("op-1", Gate())
    pool.submit("op-2", Gate())
    queued = Gate()
    future = pool.submit("op-3", queued)
    wait_until(lambda: len(pool.running_ids()) == 2)
    assert pool.queued_count() == 1
    assert future.cancel()
    assert pool.queued_count() == 0
    pool.cancel("op-1")
    wait_until(lambda: pool.running_ids() == ["op-2"])
    assert queued.calls == 0


def test_failing_work_reaches_its_future_and_the_pool_keeps_working(pool: OperationPool) -> None:
    def broken(_token: CancelToken) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        pool.submit("op-broken", broken).result(WAIT)
    done = Gate()
    done.release.set()
    pool.submit("op-after", done).result(WAIT)
    assert done.calls == 1


def test_many_threads_submitting_at_once() -> None:
    pool = OperationPool(4)
    counter = 0
    lock = threading.Lock()

    def work(_token: CancelToken) -> None:
        nonlocal counter
        with lock:
            counter += 1

    futures = []
    futures_lock = threading.Lock()

    def submitter(prefix: str) -> None:
        for n in range(50):
            future = pool.submit(f"{prefix}-{n}", work)
            with futures_lock:
                futures.append(future)

    threads = [threading.Thread(target=submitter, args=(f"t{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for future in futures:
        future.result(WAIT)
    assert counter == 400
    assert pool.queued_count() == 0
    assert pool.running_ids() == []
    assert pool.shutdown(1) == []


def test_shutdown_interrupts_drops_and_respects_the_grace(pool: OperationPool) -> None:
    stubborn = Gate(cooperative=False)
    polite = Gate()
    queued = Gate()
    stubborn_future = pool.submit("op-stubborn", stubborn)
    polite_future = pool.submit("op-polite", polite)
    queued_future = pool.submit("op-queued", queued)
    wait_until(lambda: len(pool.running_ids()) == 2)

    began = time.monotonic()
    interrupted = pool.shutdown(grace_seconds=0.5)
    elapsed = time.monotonic() - began

    assert interrupted == ["op-stubborn", "op-polite", "op-queued"]
    assert 0.45 <= elapsed < 1.5
    assert isinstance(polite_future.exception(WAIT), OperationCancelled)
    with pytest.raises(CancelledError):
        queued_future.result(WAIT)
    assert queued.calls == 0
    assert not stubborn_future.done()  # still running past the grace: reported, not awaited
    assert pool.closed
    with pytest.raises(PoolClosedError, match="shut down; operation op-late was not accepted"):
        pool.submit("op-late", Gate())
    stubborn.release.set()
    stubborn_future.result(WAIT)


def test_shutdown_returns_early_when_work_stops_and_omits_completed_work() -> None:
    pool = OperationPool(2)

    def finishes_on_cancel(token: CancelToken) -> None:
        token.wait(WAIT)  # wakes on cancellation and completes normally

    polite = Gate()
    finished = pool.submit("op-finishes", finishes_on_cancel)
    pool.submit("op-polite", polite)
    wait_until(lambda: len(pool.running_ids()) == 2)
    began = time.monotonic()
    assert pool.shutdown(grace_seconds=10) == ["op-polite"]
    assert time.monotonic() - began < 2
    assert finished.result(0) is None


def test_shutdown_holds_its_deadline_when_a_cancel_hook_hangs() -> None:
    pool = OperationPool(1)
    hang = threading.Event()

    def hook_hangs(token: CancelToken) -> None:
        token.on_cancel(lambda: hang.wait(WAIT))  # a JVM that no longer answers
        while not hang.is_set():
            time.sleep(0.01)

    pool.submit("op-hook", hook_hangs)
    wait_until(lambda: pool.running_ids() == ["op-hook"])
    began = time.monotonic()
    assert pool.shutdown(grace_seconds=0.3) == ["op-hook"]
    assert time.monotonic() - began < 1.5
    hang.set()


def test_cancel_token() -> None:
    token = CancelToken("op-t")
    seen: list[str] = []

    def failing() -> None:
        raise RuntimeError("hook failed")

    token.on_cancel(failing)
    token.on_cancel(lambda: seen.append("first"))
    assert not token.cancelled
    token.raise_if_cancelled()
    assert token.wait(0.01) is False

    assert token.cancel() is True
    assert token.cancel() is False
    assert token.cancelled
    assert token.wait(0) is True
    assert seen == ["first"]  # a failing hook does not stop the others, and each runs once
    token.on_cancel(lambda: seen.append("late"))  # already cancelled: runs at once
    assert seen == ["first", "late"]
    with pytest.raises(OperationCancelled, match="op-t"):
        token.raise_if_cancelled()
