"""`dqp dataplane` and `dqp up`: run the dataplane, or the whole platform supervised."""

from __future__ import annotations

import typer

from dqplatform.cli.context import settings_or_exit


def dataplane() -> None:
    """Run the dataplane: a SparkSession and an operation pool served over the broker."""
    from dqplatform.dataplane.worker import run_dataplane
    from dqplatform.logs import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    raise typer.Exit(run_dataplane(settings))


def up() -> None:
    """Start the controlplane and a supervised dataplane (restarted whenever it exits)."""
    from dqplatform.cli.bootstrap import ensure_first_admin
    from dqplatform.logs import configure_logging
    from dqplatform.orchestrator.supervisor import Child, Supervisor, dqp_command

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    ensure_first_admin(settings)
    supervisor = Supervisor(
        [
            Child("controlplane", dqp_command("controlplane")),
            Child("dataplane", dqp_command("dataplane")),
        ],
        stop_grace=settings.shutdown_grace_seconds + 5,
    )
    typer.echo(
        f"dqplatform: API on http://{settings.host}:{settings.port}/api "
        f"(docs: /api/docs); Ctrl-C stops everything"
    )
    raise typer.Exit(supervisor.run())
