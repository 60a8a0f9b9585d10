"""Checking private routes: a real TCP connection to each host:port, all at once, bounded."""

from __future__ import annotations

import asyncio
import socket

from dqplatform.messaging.schemas import route_failure as failure_message

OK = "OK"


def split_route(route: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port); raises ValueError when malformed."""
    host, sep, port_text = route.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError("not of the form host:port")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError("port out of range")
    return host.removeprefix("[").removesuffix("]"), port


def _reason(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"Timed out after {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return f"Name could not be resolved ({exc.strerror or 'unknown host'})"
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


async def check_route(route: str, timeout: float) -> str:
    try:
        host, port = split_route(route)
    except ValueError as exc:
        return failure_message(route, f"Invalid route: {exc}")
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
        writer.close()
        try:
            async with asyncio.timeout(0.5):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            pass
        return OK
    except (TimeoutError, OSError) as exc:
        return failure_message(route, _reason(exc, timeout))


async def check_routes(routes: list[str], timeout: float) -> dict[str, str]:
    """Every distinct route checked concurrently, each under `timeout` seconds."""
    unique = sorted(set(routes))
    results = await asyncio.gather(*(check_route(route, timeout) for route in unique))
    return dict(zip(unique, results, strict=True))


def check_routes_blocking(routes: list[str], timeout: float) -> dict[str, str]:
    return asyncio.run(check_routes(routes, timeout))
