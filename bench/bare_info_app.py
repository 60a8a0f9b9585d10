"""The bare FastAPI app GET /api is measured against: the same body, no authentication.

The body is built the way the controlplane builds its own (from the DQP_* settings and the
build) and serialised once, as the controlplane does, so the two differ by authentication.
"""

from __future__ import annotations

from fastapi import FastAPI, Response

from dqplatform.controlplane.platform.info import platform_info
from dqplatform.settings import load_settings

BODY = platform_info(load_settings()).model_dump_json().encode()

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/api")
async def get_platform_info() -> Response:
    return Response(BODY, media_type="application/json")


@app.get("/api/health", status_code=204)
async def health() -> Response:
    return Response(status_code=204)
