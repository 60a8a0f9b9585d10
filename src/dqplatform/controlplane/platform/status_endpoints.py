"""GET /api/status (Member) and GET /api/status/details (Manager)."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.admin.models import RestartRequest
from dqplatform.controlplane.auth.dependencies import BEARER_SECURITY, RequireManager, authorize
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.platform.probes import ProbeResult
from dqplatform.controlplane.platform.status import StatusSnapshot
from dqplatform.controlplane.platform.status_schemas import (
    ComponentDetails,
    PlatformStatus,
    RestartRecord,
    StatusDetails,
)
from dqplatform.controlplane.state import AppStateDep, request_state
from dqplatform.messaging.broker import safe_url

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/status", tags=["platform"])

UNHEALTHY = "UNHEALTHY"


def _state(result: ProbeResult) -> str:
    return "OK" if result.ok else UNHEALTHY


# A status poller asks hundreds of times per probe, and the snapshot only changes when a probe
# ends: its body is encoded once. Snapshots compare by identity, so the cache holds just the last.
@functools.lru_cache(maxsize=1)
def _encode(snapshot: StatusSnapshot) -> bytes:
    reply = snapshot.health_reply
    body: dict[str, Any] = {
        "database_connection": _state(snapshot.database),
        "rabbitmq_connection": _state(snapshot.broker),
        "dataplane_healthcheck": reply.status.model_dump() if reply else UNHEALTHY,
    }
    routes = snapshot.private_routes
    if routes:
        body["private_routes"] = routes
    return bytes(JSONResponse(body).body)


@router.get(
    "", response_model=PlatformStatus, summary="Get platform status", openapi_extra=BEARER_SECURITY
)
async def get_status(request: Request) -> Response:
    """Health of the database, the broker, the dataplane and the private routes."""
    authorize(request, Role.MEMBER)  # called, not declared: see authorize()
    snapshot = await request_state(request).status.snapshot()
    return Response(_encode(snapshot), media_type="application/json")


def _details(result: ProbeResult) -> ComponentDetails:
    return ComponentDetails(
        state="OK" if result.ok else "UNHEALTHY",
        latency_ms=result.latency_ms,
        checked_at=result.checked_at,
        reason=result.reason,
    )


def _last_restart(session_factory: sessionmaker[Session]) -> RestartRecord | None:
    with session_factory() as session:
        row = session.scalars(
            select(RestartRequest).order_by(RestartRequest.requested_at.desc()).limit(1)
        ).first()
    if row is None:
        return None
    return RestartRecord(
        requested_by=row.requested_by, requested_at=row.requested_at, delivered=row.delivered
    )


@router.get("/details", response_model=StatusDetails, summary="Get platform status details")
async def get_status_details(_: RequireManager, state: AppStateDep) -> StatusDetails:
    """Per component: state, latency, time of check and, when unhealthy, why."""
    service, settings = state.status, state.settings
    snapshot = await service.snapshot()
    last_restart = None
    if snapshot.database.ok:
        try:
            async with asyncio.timeout(service.deadline):
                last_restart = await asyncio.to_thread(_last_restart, state.session_factory)
        except Exception as exc:
            logger.warning("could not read the last restart: %s", type(exc).__name__)
    reply = snapshot.health_reply
    return StatusDetails(
        database=_details(snapshot.database),
        broker=_details(snapshot.broker),
        dataplane=_details(snapshot.dataplane),
        broker_url=safe_url(settings),
        broker_transport=settings.resolved_broker_url.split("://", 1)[0],
        database_backend=state.engine.dialect.name,
        dataplane_boot_id=reply.boot_id if reply else None,
        dataplane_pid=reply.pid if reply else None,
        dataplane_started_at=reply.started_at if reply else None,
        last_restart=last_restart,
        dataplane_probes_sent=service.dataplane.runs,
    )
