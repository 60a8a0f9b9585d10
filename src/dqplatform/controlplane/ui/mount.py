"""mount_ui(app): the pages' router, their static files and their security headers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from dqplatform.controlplane.ui.endpoints import router
from dqplatform.controlplane.ui.headers import SecurityHeaders
from dqplatform.controlplane.ui.pages import STATIC_DIR

STATIC_PATH = "/ui/static"


def mount_ui(app: FastAPI) -> None:
    """Mounted at the root, not under /api: the pages are documents, not API resources."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.add_middleware(SecurityHeaders)
