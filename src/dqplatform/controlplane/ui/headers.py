"""Security headers of the platform's pages: on every response of the web pages (HTML,
redirects, static files) and on the CLI authorize page."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles come only from our own static files: no inline script can run, so an
# injected <script> is inert; fetch() may only reach this origin.
PAGE_POLICY: dict[str, str] = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


def content_security_policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(policy: str, referrer_policy: str = "same-origin") -> dict[str, str]:
    """The headers every page the platform serves carries: the web pages (through the
    middleware below) and the CLI authorize page, each with its own policy."""
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": referrer_policy,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


CONTENT_SECURITY_POLICY = content_security_policy(PAGE_POLICY)
SECURITY_HEADERS = security_headers(CONTENT_SECURITY_POLICY)


def is_ui_path(path: str) -> bool:
    return path == "/" or path == "/ui" or path.startswith("/ui/")


class SecurityHeaders:
    """Pure ASGI middleware: adds SECURITY_HEADERS to the pages' responses, the API untouched
    (its JSON answers are not documents a browser renders)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ui_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
