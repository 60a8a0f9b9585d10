"""Each API request runs with its request id bound (dqplatform.request_ids) and answers
with it in the X-Request-ID header, so a caller can quote it and an operator find every
log line, on both planes, that the request caused."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dqplatform.request_ids import REQUEST_ID_HEADER, accept_request_id, bound_request_id

_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")


class RequestIdMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it would run the endpoint in another
    task, outside the context that holds the id)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next(
            (value.decode("latin-1") for key, value in scope["headers"] if key == _HEADER_KEY),
            None,
        )
        request_id = accept_request_id(offered)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        with bound_request_id(request_id):
            await self.app(scope, receive, send_with_id)
