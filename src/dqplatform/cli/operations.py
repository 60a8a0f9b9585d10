"""`dqp operation run/get/list/abort`: data operations from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import typer
from rich.table import Table

from dqplatform.cli.context import console, fail
from dqplatform.cli.remote import JsonOption, TokenOption, UrlOption, _call_failed, _client
from dqplatform.client import ApiError
from dqplatform.controlplane.operations.schemas import OperationRead

app = typer.Typer(help="Run and follow data operations.", no_args_is_help=True)


def _show(operation: OperationRead, as_json: bool) -> None:
    if as_json:
        typer.echo(operation.model_dump_json())
        return
    status = operation.status
    console.print(
        f"operation {operation.id}: {operation.type} on datastore {operation.datastore_id} - "
        f"{operation.result} ({status.containers_analyzed}/{status.total_containers or '?'} "
        f"containers, {status.records_processed:,} records)"
        + (f" - {operation.message}" if operation.message else "")
    )


@app.command("run")
def run(
    operation_type: Annotated[str, typer.Argument(help="catalog (or sync), profile or scan")],
    datastore_id: Annotated[int, typer.Option("--datastore-id", min=1)],
    container: Annotated[
        list[str] | None, typer.Option("--container", help="Only these (repeatable).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it ends.")] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait.")] = 1800,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Queue an operation on a datastore; with --wait, exit 1 unless it succeeds."""
    try:
        with _client(url, token) as client:
            operation = client.run_operation(operation_type, datastore_id, container)
            if wait:
                operation = client.wait_for_operation(operation.id, timeout)
    except TimeoutError as exc:
        raise fail(str(exc)) from None
    except (ApiError, httpx.HTTPError) as exc:
        raise _call_failed(exc) from None
    _show(operation, as_json)
    if wait and operation.result != "success":
        raise typer.Exit(1)


@app.command("get")
def get(
    operation_id: int, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Show one operation."""
    try:
        with _client(url, token) as client:
            operation = client.get_operation(operation_id)
    except (ApiError, httpx.HTTPError) as exc:
        raise _call_failed(exc) from None
    _show(operation, as_json)


@app.command("list")
def list_(
    datastore_id: Annotated[list[int] | None, typer.Option("--datastore-id")] = None,
    result: Annotated[list[str] | None, typer.Option("--result")] = None,
    size: Annotated[int, typer.Option(min=1, max=100)] = 50,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List operations, newest first."""
    try:
        with _client(url, token) as client:
            page = client.list_operations(size=size, datastore=datastore_id, result=result)
    except (ApiError, httpx.HTTPError) as exc:
        raise _call_failed(exc) from None
    if as_json:
        typer.echo(json.dumps(page.model_dump(mode="json")))
        return
    table = Table("id", "type", "datastore", "result", "started", "ended")
    for item in page.items:
        table.add_row(
            str(item.id),
            item.type,
            str(item.datastore_id),
            item.result,
            str(item.start_time or ""),
            str(item.end_time or ""),
        )
    console.print(table)
    console.print(f"{len(page.items)} of {page.total}")


@app.command("abort")
def abort(
    operation_id: int, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Abort a queued or running operation."""
    try:
        with _client(url, token) as client:
            operation = client.abort_operation(operation_id)
    except (ApiError, httpx.HTTPError) as exc:
        raise _call_failed(exc) from None
    _show(operation, as_json)
