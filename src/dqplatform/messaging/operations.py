"""Messages of data operations: what the controlplane asks the dataplane to run, and what
comes back (events with progress and, at the end, the results)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from kombu import Queue
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_serializer

from dqplatform.messaging.schemas import Message

# Durable: operations wait here, on disk, for a free pool worker of a running dataplane.
OPERATIONS_QUEUE = "dqp.operations"
# Durable: events wait here until a controlplane has written them to its database.
OPERATION_EVENTS_QUEUE = "dqp.operations.events"

OperationType = Literal["catalog", "profile", "scan"]
OperationResult = Literal["success", "failure", "aborted"]
CheckRule = Literal["not_null", "unique", "between", "matches_pattern", "expected_values"]
SAMPLE_ROWS_PER_ANOMALY = 10


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


class CheckSpec(_Frozen):
    """A quality check on one field of one container (table or file)."""

    id: int
    container: str
    field: str
    rule: CheckRule
    # between: {"min": n, "max": n}; matches_pattern: {"pattern": regex};
    # expected_values: {"values": [...]}; not_null and unique take none.
    params: dict[str, Any] = Field(default_factory=dict)


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
    check_id: int
    container: str
    field: str
    rule: CheckRule
    failed_records: int
    sample_rows: list[dict[str, Any]] = Field(max_length=SAMPLE_ROWS_PER_ANOMALY)
    message: str


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


OperationMessage = Annotated[
    RunOperation | AbortOperation | OperationEvent, Field(discriminator="kind")
]
_adapter: TypeAdapter[OperationMessage] = TypeAdapter(OperationMessage)


def parse_operation_message(body: object) -> OperationMessage:
    return _adapter.validate_python(body)
