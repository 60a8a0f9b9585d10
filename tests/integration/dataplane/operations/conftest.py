"""One real local Spark engine per test module, and operation contexts to run on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Literal

import pytest

from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.pool import CancelToken
from dqplatform.messaging.operations import (
    CheckSpec,
    DatastoreSpec,
    OperationType,
    Progress,
    RunOperation,
)
from dqplatform.settings import Settings

_ids = count(1)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkEngine]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("spark"),
        files_roots=(tmp_path_factory.getbasetemp(),),  # the tests' files are in tmp folders
        spark_master="local[2]",
        spark_driver_memory="512m",
        # The tests' tables are small: 200 shuffle partitions would cost more than the data.
        spark_conf="spark.sql.shuffle.partitions=4",
    )
    spark = SparkEngine(settings)
    spark.start()
    try:
        yield spark
    finally:
        spark.stop()


@dataclass
class Reports:
    """The progress an operation reported, in order."""

    seen: list[Progress] = field(default_factory=list)

    def __call__(self, progress: Progress) -> None:
        self.seen.append(progress)


def make_context(
    engine: SparkEngine,
    operation: OperationType | Literal["catalog", "profile", "scan"],
    datastore: DatastoreSpec,
    *,
    container_names: list[str] | None = None,
    checks: list[CheckSpec] | None = None,
    max_dataframe_size_mb: int = 1024,
) -> tuple[OperationContext, Reports]:
    operation_id = next(_ids)
    request = RunOperation(
        operation_id=operation_id,
        attempt=1,
        type=OperationType(operation),
        datastore=datastore,
        container_names=container_names,
        checks=checks or [],
    )
    reports = Reports()
    ctx = OperationContext(
        request=request,
        engine=engine,
        cancel=CancelToken(f"op-{operation_id}"),
        max_dataframe_size_mb=max_dataframe_size_mb,
        report=reports,
    )
    return ctx, reports
