"""GET /api/metrics: Prometheus' scrape target, public unless DQP_METRICS_PUBLIC=false."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from dqplatform.controlplane.auth.dependencies import Authenticate
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.platform.metrics import scrape
from dqplatform.controlplane.state import request_state

router = APIRouter(tags=["platform"])

_require_member = Authenticate(Role.MEMBER)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The metrics in Prometheus' text format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        401: {"description": "DQP_METRICS_PUBLIC is false and no valid token was sent."},
    },
)
async def get_metrics(request: Request) -> Response:
    """Component health, probe latencies, restarts by who asked, operations by type and
    result, queue depth and the dataplane's pool, in Prometheus' text format.

    Public by default, as scrapers usually carry no token; with DQP_METRICS_PUBLIC=false it
    requires the Member role like the rest of the API.
    """
    if not request_state(request).settings.metrics_public:
        await _require_member(request)
    return Response(await scrape(request.app), media_type=CONTENT_TYPE_LATEST)
