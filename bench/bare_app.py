"""A bare FastAPI endpoint, GET /bare: the platform info body with no authentication.

Reconstructed: the first version of this file was overwritten by mistake while the
platform-info benchmark was being written (that one now uses bench/bare_info_app.py). It
serves what bench/bench_status.py expects: the GET /api body at /bare.
"""

from __future__ import annotations

from fastapi import FastAPI, Response

from dqplatform.controlplane.platform.info import platform_info
from dqplatform.settings import load_settings

BODY = platform_info(load_settings()).model_dump_json().encode()

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/bare")
async def bare() -> Response:
    return Response(BODY, media_type="application/json")
