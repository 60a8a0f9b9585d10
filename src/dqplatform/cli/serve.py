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
    server_workers = workers or settings.workers
    if server_workers > 1:
        from dqplatform.controlplane.platform.metrics import prepare_multiprocess

        # Each worker counts in files the others read, so any one answers a scrape in full.
        prepare_multiprocess(settings)
    uvicorn.run(
        "dqplatform.controlplane.asgi:app",
        host=settings.host,
        port=settings.port,
        workers=server_workers,
        log_level=settings.log_level.lower(),
        # Ours, not uvicorn's default: the same lines (text or JSON) in every worker.
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
        timeout_graceful_shutdown=10,
    )
