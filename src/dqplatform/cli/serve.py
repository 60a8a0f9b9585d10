"""`dqp controlplane`: run the API server."""

from __future__ import annotations

from typing import Annotated

import typer

from dqplatform.cli.context import settings_or_exit


def controlplane(
    workers: Annotated[
        int | None, typer.Option(help="Server processes (default DQP_WORKERS).")
    ] = None,
) -> None:
    """Run the controlplane API (one side of the platform, as a deployment would)."""
    import uvicorn

    from dqplatform.logs import configure_logging, logging_config

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "dqplatform.controlplane.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level.lower(),
        # Ours, not uvicorn's default: the same lines (text or JSON) in every worker.
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
        timeout_graceful_shutdown=10,
    )
