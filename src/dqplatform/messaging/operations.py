"""Messages of data operations: what the controlplane asks the dataplane to run, and what
comes back (events with progress and, at the end, the results)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from kombu import Queue
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_serializer

from dqplatform.messaging.rules import AnomalyType, RuleType
from dqplatform.messaging.schemas import Message

# Durable: operations wait here, on disk, for a free pool worker of a running dataplane.
OPERATIONS_QUEUE = "dqp.operations"
# Durable: events wait here until a controlplane has written them to its database.
OPERATION_EVENTS_QUEUE = "dqp.operations.events"


class OperationType(StrEnum):
    """What an operation does; the controlplane stores and answers these values."""

    CATALOG = "catalog"
    PROFILE = "profile"
    SCAN = "scan"


class OperationResult(StrEnum):
    """How an operation ended, as the dataplane reports it."""

    SUCCESS = "success"
    FAILURE = "failure"
    ABORTED = "aborted"


# Source records kept per anomaly: enough to see the pattern of a failure, small enough for
# one message. The failed count is exact whatever this is.
SAMPLE_ROWS_PER_ANOMALY = 50


def operations_queue() -> Queue:
    return Queue(OPERATIONS_QUEUE, routing_key=OPERATIONS_QUEUE, durable=True, auto_delete=False)


def operation_events_queue() -> Queue:
    return Queue(
        OPERATION_EVENTS_QUEUE, routing_key=OPERATION_EVENTS_QUEUE, durable=True, auto_delete=False
    )


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DatastoreSpec(_Frozen):
    """Where the data is: a database reached over JDBC, or files under a path."""

    kind: Literal["jdbc", "files"]
    connection_type: str | None = None  # postgresql, mysql, mariadb
    host: str | None = None
    port: int | None = None
    database: str | None = None
    schema_name: str | None = None
    username: str | None = None
    # Masked in repr and logs; revealed only when serialised for the wire.
    password: SecretStr | None = None
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    path: str | None = None
    file_format: Literal["csv", "parquet"] | None = None

    @field_serializer("password", when_used="json")
    def _reveal(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()


class ReferenceSpec(_Frozen):
    """The second container a cross-container rule reads (existsIn, notExistsIn,
    isReplicaOf, dataDiff, aggregationComparison), resolved by the controlplane from the
    check's ref_datastore_id / ref_container_id: read through its own datastore."""

    datastore: DatastoreSpec
    container: str


class CheckSpec(_Frozen):
    """A quality check as the dataplane judges it.

    `properties` were validated at creation by messaging.rule_properties for `rule`;
    `filter` is a Spark SQL condition selecting the records judged (None: all);
    `coverage` the share of judged records that must pass (None: all of them).
    """

    id: int
    container: str
    rule: RuleType
    fields: list[str] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)
    filter: str | None = None
    coverage: float | None = None
    reference: ReferenceSpec | None = None
    # metric, volumetric: the figures earlier scans measured for this check (their
    # CheckOutcome.value), oldest first; empty: changes are not judged yet.
    history: list[float] = Field(default_factory=list)


class RunOperation(Message):
    kind: Literal["operation.run"] = "operation.run"
    operation_id: int
    attempt: int
    type: OperationType
    datastore: DatastoreSpec
    container_names: list[str] | None = None
    checks: list[CheckSpec] = Field(default_factory=list)


class AbortOperation(Message):
    kind: Literal["operation.abort"] = "operation.abort"
    operation_id: int


class FieldInfo(_Frozen):
    name: str
    type: str


class ContainerInfo(_Frozen):
    name: str
    type: Literal["table", "view", "file"]
    fields: list[FieldInfo]
    record_count: int | None = None


class FieldProfile(_Frozen):
    container: str
    field: str
    type: str
    record_count: int
    nulls: int
    distinct: int
    min: str | None = None
    max: str | None = None
    mean: float | None = None
    sampled: bool = False


class AnomalyFinding(_Frozen):
    """A check that failed on a container: for a `record` rule, `failed_records` of the
    `records` judged (after the filter) failed and up to SAMPLE_ROWS_PER_ANOMALY of them are
    `sample_rows`; for a `shape` rule the container (or an aggregate) failed as a whole and
    `failed_records` is 0 unless the rule counts records."""

    check_id: int
    container: str
    fields: list[str] = Field(default_factory=list)
    rule: RuleType
    type: AnomalyType
    records: int = 0
    failed_records: int
    sample_rows: list[dict[str, Any]] = Field(max_length=SAMPLE_ROWS_PER_ANOMALY)
    message: str


class CheckOutcome(_Frozen):
    """Every check's result in a scan, passed or not (the metric history's input)."""

    check_id: int
    passed: bool
    records: int = 0
    failed_records: int = 0
    # Set when the check could not be judged (its field is gone, its filter fails, ...).
    error: str | None = None
    # The figure a shape rule measured (record count, sum, distinct count, age in ms ...):
    # what a later scan's metric or volumetric check compares against (CheckSpec.history).
    value: float | None = None


class CatalogResult(_Frozen):
    kind: Literal["catalog"] = "catalog"
    containers: list[ContainerInfo]


class ProfileResult(_Frozen):
    kind: Literal["profile"] = "profile"
    profiles: list[FieldProfile]


class ScanResult(_Frozen):
    kind: Literal["scan"] = "scan"
    checks_evaluated: int
    anomalies: list[AnomalyFinding]
    outcomes: list[CheckOutcome] = Field(default_factory=list)


OperationOutput = Annotated[CatalogResult | ProfileResult | ScanResult, Field(discriminator="kind")]


class Progress(_Frozen):
    total_containers: int | None = None
    containers_analyzed: int = 0
    records_processed: int = 0


class OperationEvent(Message):
    """started, progress, finished or interrupted (by a shutdown, to be resumed), for one
    attempt of one operation."""

    kind: Literal["operation.event"] = "operation.event"
    operation_id: int
    attempt: int
    boot_id: str
    event: Literal["started", "progress", "finished", "interrupted"]
    progress: Progress = Field(default_factory=Progress)
    result: OperationResult | None = None
    message: str | None = None
    output: OperationOutput | None = None
