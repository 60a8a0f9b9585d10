"""First run of `dqp up`: create an admin so that a fresh platform can be used at all."""

from __future__ import annotations

import os
import secrets

import typer

from dqplatform.cli.context import database_session
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.users import service
from dqplatform.settings import Settings

FIRST_ADMIN = "admin"


def ensure_first_admin(settings: Settings) -> None:
    """With no user at all, create `admin` and keep its password in a 0600 file, never a log."""
    path = settings.data_dir / "initial_admin_password"
    with database_session(settings) as session:
        if service.count_users(session) > 0:
            return
        password = secrets.token_urlsafe(18)
        # The file first: if it cannot be written (no data dir yet, with PostgreSQL and the
        # secrets given in the environment; a full disk), no admin exists whose password
        # nobody knows, and the next start tries again.
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        service.create_user(session, FIRST_ADMIN, password, Role.ADMIN)
    typer.echo(
        f"dqplatform: created user '{FIRST_ADMIN}' (role admin); its password is in {path}. "
        f"Get a token with: dqp token issue {FIRST_ADMIN}"
    )
