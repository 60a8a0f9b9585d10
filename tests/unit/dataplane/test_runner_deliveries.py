"""What the runner does with a delivery: it leaves the queued count at once, and a second
copy of a request that runs here is settled, not run."""

from __future__ import annotations

import threading

from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.runner import OperationRunner
from dqplatform.dataplane.pool import OperationPool
from dqplatform.messaging.operations import CatalogResult, DatastoreSpec, RunOperation
from tests.conftest import SettingsFactory


class _Delivery:
    """A delivered message: the runner may settle it; how does not matter here."""

    def ack(self) -> None:
        pass

    def requeue(self) -> None:
        pass


def _body(operation_id: int) -> dict[str, object]:
    request = RunOperation(
        operation_id=operation_id,
        attempt=1,
        type="catalog",
        datastore=DatastoreSpec(kind="files", path="/nowhere", file_format="csv"),
    )
    return request.model_dump(mode="json")


def test_a_delivery_leaves_the_backlog_at_once(make_settings: SettingsFactory) -> None:
    release = threading.Event()

    def run(context: OperationContext) -> CatalogResult:
        release.wait(10)
        return CatalogResult(containers=[])

    pool = OperationPool(1)
    runner = OperationRunner(make_settings(), None, pool, "boot-1", run)  # type: ignore[arg-type]
    try:
        # The last reading of the broker's queue, taken while all three were waiting there.
        runner.backlog = 3
        runner._on_message(_body(1), _Delivery())
        assert runner.backlog == 2  # not "1 running with 3 queued" until the next reading
        runner._on_message(_body(2), _Delivery())
        runner._on_message(_body(3), _Delivery())
        runner._on_message(_body(4), _Delivery())  # a reading older than this publication
        assert runner.backlog == 0
    finally:
        release.set()
        pool.shutdown(grace_seconds=5)
        runner._events.close()  # its consumer thread was never started: nothing else to stop


class _Recorded:
    """A delivery on a given channel that remembers how it was settled."""

    def __init__(self, channel: object) -> None:
        self.channel = channel
        self.settled: list[str] = []

    def ack(self) -> None:
        self.settled.append("ack")

    def requeue(self) -> None:
        self.settled.append("requeue")


def test_a_second_copy_while_the_first_runs_is_dropped_not_run(
    make_settings: SettingsFactory,
) -> None:
    release, started = threading.Event(), threading.Event()
    runs: list[int] = []

    def run(context: OperationContext) -> CatalogResult:
        runs.append(context.request.operation_id)
        started.set()
        release.wait(10)
        return CatalogResult(containers=[])

    pool = OperationPool(2)
    runner = OperationRunner(make_settings(), None, pool, "boot-1", run)  # type: ignore[arg-type]
    channel, reconnected = object(), object()
    first, copy, redelivered = _Recorded(channel), _Recorded(channel), _Recorded(reconnected)
    try:
        runner._on_message(_body(1), first)
        runner._on_message(_body(1), copy)  # the same request, sent twice
        assert copy.settled == ["ack"]  # settled at once: it cannot come back to run again
        assert runner._inflight["op-1"] is first and first.settled == []
        # After a lost connection the broker delivers it again on the new channel: that
        # delivery is the one to settle when the run ends.
        runner._on_message(_body(1), redelivered)
        assert runner._inflight["op-1"] is redelivered and redelivered.settled == []
        assert started.wait(10)
        assert pool.running_ids() == ["op-1"] and pool.queued_count() == 0
    finally:
        release.set()
        pool.shutdown(grace_seconds=5)
        runner._events.close()
    assert runs == [1]
