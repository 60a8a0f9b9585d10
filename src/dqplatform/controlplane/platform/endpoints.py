"""GET /api (platform info) and GET /api/health (liveness)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dqplatform.controlplane.auth.dependencies import BEARER_SECURITY, authorize
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.platform.schemas import PlatformInfo
from dqplatform.controlplane.state import request_state

router = APIRouter(tags=["platform"])


@router.get(
    "", response_model=PlatformInfo, summary="Get platform info", openapi_extra=BEARER_SECURITY
)
async def get_platform_info(request: Request) -> Response:
    """The platform version, cloud provider, engine type, deployment size and token lifetime."""
    authorize(request, Role.MEMBER)  # called, not declared: see authorize()
    # Serialised once at start: the body never changes while the process runs.
    return Response(request_state(request).platform_info_json, media_type="application/json")


@router.get("/health", status_code=204, summary="Liveness probe")
async def health() -> Response:
    """Public liveness probe: answers 204 without touching the database, broker or dataplane."""
    return Response(status_code=204)
