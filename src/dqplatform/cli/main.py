"""The `dqp` command: one sub-app per command group."""

from __future__ import annotations

import typer

from dqplatform.cli import connections, login, operations, planes, remote, serve, tokens, users

app = typer.Typer(
    name="dqp",
    help="dqplatform: data-quality platform (controlplane, dataplane and admin tools).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(users.app, name="user")
app.add_typer(operations.app, name="operation")
app.add_typer(tokens.app, name="token")
app.add_typer(connections.app, name="connection")
app.command("controlplane")(serve.controlplane)
app.command("dataplane")(planes.dataplane)
app.command("up")(planes.up)
app.command("info")(remote.info)
app.command("status")(remote.status)
app.command("restart")(remote.restart)
app.command("login")(login.login)
app.command("logout")(login.logout)

if __name__ == "__main__":
    app()
