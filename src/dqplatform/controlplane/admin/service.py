"""Recording who asked for a restart, and when, without letting the audit block the restart."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from dqplatform.controlplane.admin.models import RestartRequest
from dqplatform.controlplane.state import app_state
from dqplatform.messaging.schemas import ShutdownCommand

logger = logging.getLogger(__name__)


def _insert(
    app: FastAPI, requested_by: str, command: ShutdownCommand | None, delivered: bool
) -> None:
    with app_state(app).session_factory() as session, session.begin():
        session.add(
            RestartRequest(
                requested_by=requested_by,
                command_id=command.id if command else "",
                target_boot_id=command.target_boot_id if command else None,
                delivered=delivered,
                **({"requested_at": command.issued_at} if command else {}),
            )
        )


async def record_restart(
    app: FastAPI, requested_by: str, command: ShutdownCommand | None, delivered: bool
) -> None:
    """Write the audit row; if the database is down the restart still goes ahead, logged."""
    deadline = app_state(app).settings.probe_timeout_seconds
    try:
        async with asyncio.timeout(deadline):
            await asyncio.to_thread(_insert, app, requested_by, command, delivered)
    except Exception as exc:
        logger.warning(
            "restart by %s (delivered=%s) not recorded in the database: %s",
            requested_by,
            delivered,
            type(exc).__name__,
        )
