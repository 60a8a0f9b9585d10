"""Response bodies of GET /api/status and GET /api/status/details."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from dqplatform.messaging.schemas import DataplaneStatus

Health = Literal["OK", "UNHEALTHY"]


class PlatformStatus(BaseModel):
    database_connection: Health = Field(description="Database connectivity status.")
    rabbitmq_connection: Health = Field(description="Message broker connectivity status.")
    dataplane_healthcheck: DataplaneStatus | Literal["UNHEALTHY"] = Field(
        description="The dataplane's status, or UNHEALTHY when it does not answer."
    )
    private_routes: dict[str, str] | None = Field(
        default=None,
        description="host:port -> OK or why it failed. Absent when no private connection exists.",
    )


class ComponentDetails(BaseModel):
    state: Health
    latency_ms: float
    checked_at: datetime
    reason: str | None = Field(default=None, description="Why the component is unhealthy.")


class RestartRecord(BaseModel):
    requested_by: str
    requested_at: datetime
    delivered: bool


class StatusDetails(BaseModel):
    database: ComponentDetails
    broker: ComponentDetails
    dataplane: ComponentDetails
    broker_url: str = Field(description="The broker in use, credentials redacted.")
    broker_transport: str
    database_backend: str
    dataplane_boot_id: str | None = None
    dataplane_pid: int | None = None
    dataplane_started_at: datetime | None = None
    last_restart: RestartRecord | None = None
    dataplane_probes_sent: int = Field(
        description="Health requests this controlplane process has sent to the dataplane."
    )
