"""`dqp token issue`: print a signed session token for a user."""

from __future__ import annotations

from typing import Annotated

import typer

from dqplatform.cli.context import database_session, fail, settings_or_exit
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.errors import PlatformError
from dqplatform.controlplane.users import service

app = typer.Typer(help="Issue tokens (works on the database directly).", no_args_is_help=True)


@app.command("issue")
def issue(
    name: str,
    ttl: Annotated[
        int | None,
        typer.Option(
            min=1, max=365 * 24 * 3600, help="Lifetime in seconds (default: DQP_JWT_TTL_SECONDS)."
        ),
    ] = None,
) -> None:
    """Print a session JWT for NAME to stdout, and nothing else."""
    settings = settings_or_exit()
    try:
        with database_session(settings) as session:
            user = service.require_by_username(session, name)
            user_id, role = user.id, user.role_enum
    except PlatformError as exc:
        raise fail(exc.message) from None
    token = issue_session_token(
        settings.signing_secret, user_id, role, ttl or settings.jwt_ttl_seconds
    )
    typer.echo(token)
