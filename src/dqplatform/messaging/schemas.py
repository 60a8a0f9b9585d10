"""The messages the planes exchange: versioned, stamped JSON validated by Pydantic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, field_serializer

from dqplatform.request_ids import current_request_id


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class Message(BaseModel):
    """Every message carries a kind, a schema version, an id and the time it was issued."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = 1
    id: str = Field(default_factory=_new_id)
    issued_at: datetime = Field(default_factory=_now)
    # The API request that caused it (see dqplatform.request_ids), for the logs of both planes.
    request_id: str | None = Field(default_factory=lambda: current_request_id.get())


class Request(Message):
    """A message that expects a reply, before its expiry, on the `reply_to` queue."""

    reply_to: str | None = None
    expires_at: datetime

    def expired(self, now: datetime | None = None) -> bool:
        return (now or _now()) >= self.expires_at

    @staticmethod
    def expiry(seconds: float) -> datetime:
        return _now() + timedelta(seconds=seconds)


class PoolState(BaseModel):
    """The dataplane's operation pool as numbers; the Status API's `thread_pool_state` text is
    made from it by `describe`, and the metrics read the numbers themselves."""

    model_config = ConfigDict(frozen=True)

    running: list[str] = Field(default_factory=list)
    queued_requests: int = Field(default=0, ge=0)
    provisioned_channels: int = Field(default=0, ge=0)

    def describe(self) -> str:
        """The documented thread_pool_state, e.g. "2 running operations [op-1, op-2] with 3
        queued requests and 8 provisioned channels" (plural forms kept even for 1)."""
        return (
            f"{len(self.running)} running operations [{', '.join(self.running)}] with "
            f"{self.queued_requests} queued requests and {self.provisioned_channels} "
            "provisioned channels"
        )


class DataplaneStatus(BaseModel):
    """The dataplane's health, every field a live reading (the Status API's DataplaneStatus)."""

    build_date: str
    implementation_version: str
    git_hash: str
    spark_version: str
    driver_free_memory_mb: int
    max_executors: int
    max_memory_per_executor_mb: int
    cores_per_executor: int
    max_dataframe_size_mb: int
    thread_pool_parallelism: int
    thread_pool_state: str


class HealthRequest(Request):
    kind: Literal["health.request"] = "health.request"


class HealthReply(Message):
    kind: Literal["health.reply"] = "health.reply"
    in_reply_to: str
    status: DataplaneStatus
    # The numbers behind status.thread_pool_state; None from a dataplane older than it.
    pool: PoolState | None = None
    boot_id: str
    pid: int
    started_at: datetime


class RouteCheckRequest(Request):
    kind: Literal["routes.check"] = "routes.check"
    routes: list[str]
    timeout_seconds: float


def route_failure(route: str, reason: str) -> str:
    """The documented form of a private route that could not be reached."""
    return f'Attempt to reach "{route}" failed with message: "{reason}"'


class RouteCheckReply(Message):
    kind: Literal["routes.reply"] = "routes.reply"
    in_reply_to: str
    results: dict[str, str]


class ConnectionTestRequest(Request):
    """Ask the dataplane to open a real connection to a datastore with these credentials."""

    kind: Literal["connection.test"] = "connection.test"
    type: str
    host: str
    port: int
    database: str | None = None
    username: str | None = None
    # Masked in repr and logs; revealed only when the message is serialised for the wire.
    password: SecretStr | None = None
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict)
    timeout_seconds: float

    @field_serializer("password", when_used="json")
    def _reveal(self, value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value()


class ConnectionTestReply(Message):
    kind: Literal["connection.reply"] = "connection.reply"
    in_reply_to: str
    ok: bool
    message: str
    latency_ms: float


class ShutdownCommand(Message):
    """Ask the running dataplane to drain and exit (its orchestrator starts a new one)."""

    kind: Literal["dataplane.shutdown"] = "dataplane.shutdown"
    requested_by: str
    # The boot the controlplane last saw answer (for the audit); None when it has seen none.
    target_boot_id: str | None = None
    expires_at: datetime


class ErrorReply(Message):
    """A handler failed: the error travels back as data, the worker keeps running."""

    kind: Literal["error"] = "error"
    in_reply_to: str
    error: str


AnyMessage = Annotated[
    HealthRequest
    | HealthReply
    | RouteCheckRequest
    | RouteCheckReply
    | ConnectionTestRequest
    | ConnectionTestReply
    | ShutdownCommand
    | ErrorReply,
    Field(discriminator="kind"),
]
_adapter: TypeAdapter[AnyMessage] = TypeAdapter(AnyMessage)


def parse_message(body: object) -> AnyMessage:
    """Validate a decoded message body; raises pydantic.ValidationError if it is not one of ours."""
    return _adapter.validate_python(body)


def encode(message: Message) -> dict[str, object]:
    return message.model_dump(mode="json")
