"""POST /api/connections/{id}/test: the dataplane opens a real connection with the credentials."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from dqplatform.controlplane.auth.dependencies import RequireManager
from dqplatform.controlplane.connections import service
from dqplatform.controlplane.connections.dependencies import SecretsBoxDep
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.errors import ServiceUnavailable
from dqplatform.controlplane.platform.dataplane_client import DataplaneClient, DataplaneError
from dqplatform.messaging.broker import BrokerUnavailable
from dqplatform.messaging.schemas import ConnectionTestReply, ConnectionTestRequest
from dqplatform.messaging.schemas import Request as Req

router = APIRouter(prefix="/connections", tags=["connections"])

# The dataplane gets this long to connect; the answer must come back within a little more.
CONNECT_TIMEOUT_SECONDS = 10.0


class ConnectionTestResult(BaseModel):
    connected: bool = Field(description="Whether the dataplane could connect and run SELECT 1.")
    message: str = Field(description="What happened; why it failed, when it did.")
    latency_ms: float = Field(description="Time the dataplane took to connect and query.")


async def test_connection_by_id(
    request: Request, secret: service.ConnectionSecret
) -> ConnectionTestResult:
    """Ask the dataplane to connect with `secret`; shared with the datastores domain."""
    client: DataplaneClient = request.app.state.dataplane
    ask = ConnectionTestRequest(
        reply_to=client.reply_to(),
        expires_at=Req.expiry(CONNECT_TIMEOUT_SECONDS + 2),
        type=secret.type,
        host=secret.host,
        port=secret.port,
        database=secret.database,
        username=secret.username,
        password=secret.password,
        parameters=secret.parameters,
        timeout_seconds=CONNECT_TIMEOUT_SECONDS,
    )
    try:
        reply = await client.ask(ask, CONNECT_TIMEOUT_SECONDS + 2)
    except TimeoutError:
        raise ServiceUnavailable("the dataplane did not answer the connection test") from None
    except (DataplaneError, BrokerUnavailable) as exc:
        raise ServiceUnavailable(f"the connection test could not be run: {exc}") from None
    assert isinstance(reply, ConnectionTestReply)
    return ConnectionTestResult(
        connected=reply.ok, message=reply.message, latency_ms=reply.latency_ms
    )


@router.post(
    "/{connection_id}/test",
    response_model=ConnectionTestResult,
    summary="Test a connection",
    responses={503: {"description": "The dataplane or the broker is not available."}},
)
async def test_connection(
    connection_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    session: SessionDep,
    box: SecretsBoxDep,
    _: RequireManager,
) -> ConnectionTestResult:
    """Ask the dataplane (whose network reaches the databases) to open a real connection."""
    secret = await asyncio.to_thread(service.get_connection_secret, session, connection_id, box)
    return await test_connection_by_id(request, secret)
