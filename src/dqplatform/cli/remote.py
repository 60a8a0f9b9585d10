"""`dqp info`, `dqp status`, `dqp restart`: the Status API from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import typer
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table

from dqplatform.cli.config import load_client_config
from dqplatform.cli.context import console, fail
from dqplatform.client import ApiError, PlatformClient, RestartTimeout

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Platform URL (default: DQP_URL or the saved login).")
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", help="Bearer token (default: DQP_TOKEN or the saved login)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the raw JSON body.")]


def _client(url: str | None, token: str | None) -> PlatformClient:
    config = load_client_config(url, token)
    if not config.token:
        raise fail("no token: pass --token, set DQP_TOKEN, or run `dqp login`")
    return PlatformClient(config.url, config.token)


def _call_failed(exc: Exception) -> typer.Exit:
    if isinstance(exc, ApiError):
        return fail(f"the platform answered {exc.status_code}: {exc.detail}")
    return fail(f"cannot reach the platform: {type(exc).__name__}")


def info(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Show the platform info (GET /api)."""
    try:
        with _client(url, token) as client:
            platform = client.info()
    except (ApiError, httpx.HTTPError) as exc:
        raise _call_failed(exc) from None
    if as_json:
        typer.echo(platform.model_dump_json())
        return
    table = Table(show_header=False)
    for key, value in platform.model_dump().items():
        table.add_row(key, str(value))
    console.print(table)


def _status_table(body: dict[str, object]) -> Table:
    table = Table("component", "state", title="Platform status")

    def state(value: object) -> str:
        return "[green]OK[/green]" if value == "OK" else "[red]UNHEALTHY[/red]"

    table.add_row("Database", state(body["database_connection"]))
    table.add_row("RabbitMQ", state(body["rabbitmq_connection"]))
    dataplane = body["dataplane_healthcheck"]
    if isinstance(dataplane, dict):
        table.add_row("Dataplane", state("OK"))
        for key, value in dataplane.items():
            table.add_row(f"  {key}", str(value))
    else:
        table.add_row("Dataplane", state(dataplane))
    routes = body.get("private_routes")
    if isinstance(routes, dict):
        for route, result in routes.items():
            table.add_row(
                f"Route {route}", state("OK") if result == "OK" else f"[red]{result}[/red]"
            )
    return table


def status(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """Show the platform health (GET /api/status); exits 1 when anything is unhealthy."""
    try:
        with _client(url, token) as client:
            body = client.status_raw()
    except (ApiError, httpx.HTTPError) as exc:
        raise _call_failed(exc) from None
    if as_json:
        typer.echo(json.dumps(body))
    else:
        console.print(_status_table(body))
    routes = body.get("private_routes") or {}
    healthy = (
        body["database_connection"] == "OK"
        and body["rabbitmq_connection"] == "OK"
        and isinstance(body["dataplane_healthcheck"], dict)
        and all(value == "OK" for value in routes.values())
    )
    if not healthy:
        raise typer.Exit(1)


_PHASE_TEXT = {
    "stopping": "asking the dataplane to stop",
    "down": "dataplane down, waiting for the new one",
    "up": "dataplane healthy again",
}


def restart(
    url: UrlOption = None,
    token: TokenOption = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the restart until healthy.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.", min=1)] = 300,
) -> None:
    """Restart the dataplane (PUT /api/admin/restart, Admin only)."""
    try:
        with _client(url, token) as client:
            if not wait:
                client.restart()
                console.print("restart requested")
                return
            spinner = Spinner("dots", text="restart requested")
            with Live(spinner, console=console, transient=True):

                def show(phase: str, elapsed: float) -> None:
                    spinner.update(text=f"{_PHASE_TEXT[phase]} ({elapsed:.1f} s)")

                downtime = client.restart_and_wait(timeout, on_poll=show)
    except RestartTimeout as exc:
        raise fail(str(exc)) from None
    except (ApiError, httpx.HTTPError) as exc:
        raise _call_failed(exc) from None
    console.print(f"dataplane healthy again; downtime {downtime:.1f} s")
