"""The operation runner over a real broker, with the operation itself isolated.

The Spark work is replaced by small functions here: what is under test is the runner's part
(taking one message per worker, events, acknowledgement, requeue on shutdown, abort).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dqplatform.dataplane.operations.context import OperationContext, OperationFailed
from dqplatform.dataplane.operations.runner import OperationRunner
from dqplatform.dataplane.pool import OperationPool
from dqplatform.messaging.listener import Listener
from dqplatform.messaging.operations import (
    OPERATIONS_QUEUE,
    CatalogResult,
    DatastoreSpec,
    OperationEvent,
    RunOperation,
    operation_events_queue,
    operations_queue,
)
from dqplatform.messaging.publisher import Publisher
from dqplatform.settings import Settings
from tests.conftest import SettingsFactory
from tests.services import RABBITMQ_URL

pytestmark = pytest.mark.integration


@pytest.fixture(params=["filesystem", "rabbitmq"])
def settings(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> Settings:
    broker = None if request.param == "filesystem" else RABBITMQ_URL
    return make_settings(broker_url=broker, thread_pool_parallelism=1)


@pytest.fixture
def events(settings: Settings) -> Iterator[queue.Queue[OperationEvent]]:
    received: queue.Queue[OperationEvent] = queue.Queue()
    listener = Listener(
        settings,
        operation_events_queue(),
        lambda body: received.put(OperationEvent.model_validate(body)),
        "test-events",
    )
    listener.start()
    assert listener.ready.wait(10)
    yield received
    listener.stop()


def _request(operation_id: int) -> RunOperation:
    return RunOperation(
        operation_id=operation_id,
        attempt=1,
        type="catalog",
        datastore=DatastoreSpec(kind="files", path="/nowhere", file_format="csv"),
    )


def _send(settings: Settings, *operation_ids: int) -> None:
    publisher = Publisher(settings)
    for operation_id in operation_ids:
        publisher.publish(
            _request(operation_id), OPERATIONS_QUEUE, persistent=True, declare=operations_queue()
        )
        # The embedded broker orders messages by the millisecond they were written in.
        time.sleep(0.01)
    publisher.close()


def _runner(settings: Settings, run: Callable[[OperationContext], Any]) -> OperationRunner:
    pool = OperationPool(settings.thread_pool_parallelism)
    runner = OperationRunner(settings, None, pool, "boot-1", run)  # type: ignore[arg-type]
    runner.start()
    return runner


def _stop(runner: OperationRunner) -> None:
    runner.stop_taking()
    runner._pool.shutdown(grace_seconds=5)
    runner.stop(timeout=10)


def _next(events: queue.Queue[OperationEvent], kind: str) -> OperationEvent:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        event = events.get(timeout=20)
        if event.event == kind:
            return event
    raise AssertionError(f"no {kind} event")


def test_operations_run_one_per_worker_and_report_their_results(
    settings: Settings, events: queue.Queue[OperationEvent]
) -> None:
    release = threading.Event()

    def run(context: OperationContext) -> CatalogResult:
        release.wait(10)
        if context.request.operation_id == 2:
            raise OperationFailed("no such folder")
        return CatalogResult(containers=[])

    _send(settings, 1, 2)
    runner = _runner(settings, run)
    try:
        assert _next(events, "started").operation_id == 1
        time.sleep(1.5)
        assert runner._pool.running_ids() == ["op-1"]
        assert runner.backlog == 1  # the second waits on the broker, not in the pool
        release.set()
        first = _next(events, "finished")
        assert (first.operation_id, first.result) == (1, "success")
        assert first.output == CatalogResult(containers=[])
        second = _next(events, "finished")
        assert (second.operation_id, second.result, second.message) == (
            2,
            "failure",
            "no such folder",
        )
    finally:
        _stop(runner)
    # Both were acknowledged: a new runner finds nothing to do.
    again: list[int] = []
    runner = _runner(settings, lambda context: again.append(1) or CatalogResult(containers=[]))
    time.sleep(2)
    _stop(runner)
    assert again == []


def test_a_shutdown_puts_the_running_operation_back_and_says_so(
    settings: Settings, events: queue.Queue[OperationEvent]
) -> None:
    def run(context: OperationContext) -> CatalogResult:
        context.cancel.wait(30)
        context.cancel.raise_if_cancelled()
        return CatalogResult(containers=[])

    _send(settings, 7)
    runner = _runner(settings, run)
    assert _next(events, "started").operation_id == 7
    _stop(runner)
    assert _next(events, "interrupted").operation_id == 7
    # The next dataplane gets it again and finishes it.
    runner = _runner(settings, lambda context: CatalogResult(containers=[]))
    try:
        finished = _next(events, "finished")
        assert (finished.operation_id, finished.result) == (7, "success")
    finally:
        _stop(runner)


def test_abort_ends_a_running_operation_as_aborted(
    settings: Settings, events: queue.Queue[OperationEvent]
) -> None:
    def run(context: OperationContext) -> CatalogResult:
        context.cancel.wait(30)
        raise RuntimeError("Spark job cancelled")  # what a cancelled Spark action raises

    _send(settings, 9)
    runner = _runner(settings, run)
    try:
        assert _next(events, "started").operation_id == 9
        assert runner.abort(9)
        finished = _next(events, "finished")
        assert (finished.operation_id, finished.result) == (9, "aborted")
    finally:
        _stop(runner)
