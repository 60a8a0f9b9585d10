"""`dqp user ...`: offline user administration against the configured database."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from dqplatform.cli.context import console, database_session, fail, settings_or_exit
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.errors import PlatformError
from dqplatform.controlplane.users import service

app = typer.Typer(help="Manage users (works on the database directly).", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("add")
def add(
    name: str,
    role: Annotated[Role, typer.Option(help="member, manager or admin")] = Role.MEMBER,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user."""
    settings = settings_or_exit()
    password = _read_password(password_stdin)
    try:
        with database_session(settings) as session:
            user = service.create_user(session, name, password, role)
            user_id = user.id
    except PlatformError as exc:
        raise fail(exc.message) from None
    console.print(f"created user {name} (id {user_id}, role {role.value})")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List users."""
    settings = settings_or_exit()
    with database_session(settings) as session:
        rows = [
            {
                "id": u.id,
                "username": u.username,
                "role": u.role,
                "created_at": u.created_at.isoformat(),
            }
            for u in service.list_users(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "username", "role", "created")
    for row in rows:
        table.add_row(*(str(row[key]) for key in ("id", "username", "role", "created_at")))
    console.print(table)


@app.command("set-role")
def set_role(name: str, role: Role) -> None:
    """Change a user's role."""
    settings = settings_or_exit()
    try:
        with database_session(settings) as session:
            service.set_role(session, service.require_by_username(session, name), role)
    except PlatformError as exc:
        raise fail(exc.message) from None
    console.print(f"{name} is now {role.value}")


@app.command("remove")
def remove(name: str) -> None:
    """Delete a user."""
    settings = settings_or_exit()
    try:
        with database_session(settings) as session:
            service.remove_user(session, service.require_by_username(session, name))
    except PlatformError as exc:
        raise fail(exc.message) from None
    console.print(f"removed user {name}")
