"""What an operation gets to do its work: the engine, its data, a cancel token, progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.pool import CancelToken
from dqplatform.messaging.operations import Progress, RunOperation

# Progress events are sent at most this often; the last one always goes with "finished".
PROGRESS_INTERVAL_SECONDS = 1.0


class OperationFailed(Exception):
    """The operation cannot complete; the message is shown to the user (no secrets in it)."""


@dataclass
class OperationContext:
    request: RunOperation
    engine: SparkEngine
    cancel: CancelToken
    max_dataframe_size_mb: int
    report: Callable[[Progress], None]
    _progress: Progress = field(default_factory=Progress)
    _last_report: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def job_group(self) -> str:
        """The Spark job group of this attempt, cancelled when the operation is aborted."""
        return f"dqp-op-{self.request.operation_id}-{self.request.attempt}"

    @property
    def progress(self) -> Progress:
        return self._progress

    def update(
        self,
        total_containers: int | None = None,
        containers_analyzed: int | None = None,
        add_records: int = 0,
    ) -> None:
        """Record progress; reported to the controlplane at most once a second."""
        with self._lock:
            current = self._progress
            self._progress = Progress(
                total_containers=(
                    total_containers if total_containers is not None else current.total_containers
                ),
                containers_analyzed=(
                    containers_analyzed
                    if containers_analyzed is not None
                    else current.containers_analyzed
                ),
                records_processed=current.records_processed + add_records,
            )
            now = time.monotonic()
            due = now - self._last_report >= PROGRESS_INTERVAL_SECONDS
            if due:
                self._last_report = now
            snapshot = self._progress
        if due:
            self.report(snapshot)
