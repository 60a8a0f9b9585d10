"""A limit on the size of request bodies: larger ones are refused with 413, never read whole."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dqplatform.controlplane.errors import error_body

STATUS = 413
CODE = "payload_too_large"


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a body without (or with a false) Content-Length grows past
    the limit. An HTTPException, because FastAPI turns any other error met while it reads a
    body into a 400."""

    def __init__(self, limit: int):
        super().__init__(STATUS, _detail(limit))
        self.limit = limit


def _detail(limit: int) -> str:
    return f"request body is larger than {limit} bytes"


def _too_large(limit: int) -> JSONResponse:
    # Closing the connection: the rest of the body is never read, so it cannot be reused.
    return JSONResponse(
        error_body(STATUS, CODE, _detail(limit)),
        status_code=STATUS,
        headers={"Connection": "close"},
    )


class BodySizeLimit:
    """Pure ASGI middleware: a declared Content-Length over the limit is answered at once; a
    body that turns out longer than the limit stops being read when it passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None


async def _body_too_large(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return _too_large(exc.limit)


def install_body_limit(app: FastAPI, max_bytes: int) -> None:
    """Refuse request bodies over `max_bytes` with 413 in the platform's error shape."""
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
    app.add_exception_handler(BodyTooLarge, _body_too_large)
