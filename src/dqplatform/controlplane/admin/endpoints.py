"""PUT /api/admin/restart: a graceful dataplane restart, Admin only."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response

from dqplatform.controlplane.admin.service import record_restart
from dqplatform.controlplane.auth.dependencies import RequireAdmin
from dqplatform.controlplane.errors import ServiceUnavailable
from dqplatform.controlplane.platform.metrics import count_restart
from dqplatform.controlplane.state import DataplaneDep, SettingsDep, StatusDep
from dqplatform.messaging.broker import BrokerUnavailable

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/admin", tags=["admin"])


@router.put(
    "/restart",
    status_code=200,
    response_class=Response,  # documented as what it is: no body, no JSON
    summary="Restart dataplane",
    responses={
        200: {"description": "The shutdown message was sent (empty body)."},
        503: {"description": "The broker did not take the message."},
    },
)
async def restart_dataplane(
    request: Request,
    admin: RequireAdmin,
    settings: SettingsDep,
    client: DataplaneDep,
    status: StatusDep,
) -> Response:
    """Send a graceful shutdown message to the dataplane; its orchestrator starts a new one.

    Returns once the broker has taken the message, without waiting for the restart.
    """
    deadline = settings.probe_timeout_seconds
    try:
        async with asyncio.timeout(deadline):
            command = await asyncio.to_thread(client.send_shutdown, admin.username)
        delivered, reason = True, ""
    except (BrokerUnavailable, TimeoutError) as exc:
        command, delivered, reason = None, False, str(exc) or "the broker did not answer in time"
    await record_restart(request.app, admin.username, command, delivered)
    count_restart(admin.username, delivered)
    if not delivered:
        raise ServiceUnavailable(f"restart not sent: {reason}")
    logger.info("dataplane restart requested by %s", admin.username)
    status.dataplane.forget()
    return Response(status_code=200)
