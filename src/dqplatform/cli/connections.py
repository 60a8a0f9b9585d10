"""`dqp connection ...`: offline connection administration against the configured database."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from dqplatform.cli.context import console, database_session, fail, settings_or_exit
from dqplatform.controlplane.connections import service
from dqplatform.controlplane.connections.schemas import (
    ConnectionCreate,
    ConnectionRead,
    ConnectionType,
)
from dqplatform.controlplane.datastores.service import datastores_on_connection
from dqplatform.controlplane.errors import PlatformError
from dqplatform.controlplane.secrets_box import SecretsBox, SecretsKeyError, SecretUnreadable
from dqplatform.settings import SettingsError

app = typer.Typer(help="Manage connections (works on the database directly).", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--param must be NAME=VALUE, got {key!r} without '='")
        parameters[key] = value
    return parameters


def _invalid(exc: ValidationError) -> typer.Exit:
    # Field names and reasons only: pydantic's own text would repeat the input, password too.
    reasons = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'input'}: {error['msg']}"
        for error in exc.errors()
    )
    return fail(f"invalid connection: {reasons}")


def _box() -> SecretsBox:
    try:
        return SecretsBox.from_settings(settings_or_exit())
    except (SecretsKeyError, SettingsError) as exc:
        raise fail(str(exc), code=2) from None


@app.command("add")
def add(
    name: str,
    type_: Annotated[ConnectionType, typer.Option("--type", help="Database type.")],
    host: Annotated[str, typer.Option(help="Hostname or IP address.")],
    port: Annotated[
        int | None, typer.Option(help="Default: 5432 for postgresql, 3306 for mysql/mariadb.")
    ] = None,
    database: Annotated[str | None, typer.Option(help="Database name.")] = None,
    username: Annotated[str | None, typer.Option(help="User to connect as.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Store no password (no prompt).")
    ] = False,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Driver option NAME=VALUE (a string); repeatable."),
    ] = None,
    private: Annotated[
        bool, typer.Option("--private", help="Reached over a private route.")
    ] = False,
) -> None:
    """Create a connection; the password is prompted for unless --password-stdin is given."""
    settings = settings_or_exit()
    box = _box()
    password = None if no_password else _read_password(password_stdin)
    try:
        data = ConnectionCreate.model_validate(
            {
                "type": type_,
                "name": name,
                "host": host,
                "port": port,
                "database": database,
                "username": username,
                "password": password or None,
                "parameters": _parameters(param or []),
                "private": private,
            }
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    try:
        with database_session(settings) as session:
            row = service.create_connection(session, data, box)
            connection_id = row.id
    except PlatformError as exc:
        raise fail(exc.message) from None
    console.print(f"created connection {data.name} (id {connection_id})")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List connections; passwords are masked."""
    settings = settings_or_exit()
    with database_session(settings) as session:
        rows = [ConnectionRead.from_row(row) for row in service.list_connections(session)]
    if as_json:
        typer.echo(json.dumps([row.model_dump(mode="json") for row in rows]))
        return
    table = Table("id", "name", "type")
    # Routes and names are what people copy from here: never wrap them.
    table.add_column("host:port", no_wrap=True)
    for column in ("database", "username", "private"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            row.name,
            row.type.value,
            service.route_of(row.host, row.port),
            row.database or "",
            row.username or "",
            "yes" if row.private else "no",
        )
    console.print(table)


@app.command("remove")
def remove(name: str) -> None:
    """Delete a connection, unless a datastore uses it."""
    settings = settings_or_exit()
    try:
        with database_session(settings) as session:
            row = service.require_by_name(session, name)
            service.delete_connection(session, row, datastores_on_connection(session, row.id))
    except PlatformError as exc:
        raise fail(exc.message) from None
    console.print(f"removed connection {name}")


@app.command("rotate-key")
def rotate_key() -> None:
    """Encrypt every stored password again with the first key of DQP_SECRETS_KEY."""
    settings = settings_or_exit()
    box = _box()
    try:
        with database_session(settings) as session:
            count = service.reencrypt_passwords(session, box)
    except SecretUnreadable as exc:
        raise fail(f"{exc}; nothing was changed") from None
    console.print(f"re-encrypted {count} password(s) with the first key")
