"""The queued count of thread_pool_state: an operation taken off the broker is not queued."""

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
