"""`dqp login` and `dqp logout`: a personal token through the browser, kept in the config file.

`dqp login` listens once on a loopback port chosen by the OS, opens the platform's
/api/cli/authorize page with a random `state`, and waits for the browser to be sent back to
http://127.0.0.1:<port>/callback?token=...&state=... (the protocol qualytics-cli uses too).
Only the callback carrying our state ends the wait; anything else reaching the port is
answered and ignored. The token is tried on GET /api before it is saved.
"""

from __future__ import annotations

import hmac
import html
import json
import os
import platform
import secrets
import sys
import threading
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import typer

from dqplatform.cli.config import config_path, load_client_config, save_client_config
from dqplatform.cli.context import console, fail
from dqplatform.client import ApiError, PlatformClient, normalize_url
from dqplatform.controlplane.users.schemas import UserRead

CALLBACK_PATH = "/callback"
# A browser that connects and then sends nothing must not hold the one listener for long.
REQUEST_READ_TIMEOUT = 5.0
# A callback that arrived just before the deadline still gets its token checked.
CHECK_GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class Outcome:
    """How the callback carrying our state ended: a checked token, or why not."""

    token: str | None = None
    user: UserRead | None = None
    error: str = ""


class CallbackServer(HTTPServer):
    """The loopback listener: 127.0.0.1 only, a port chosen by the OS, one accepted callback."""

    def __init__(self, state: str, base_url: str):
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.state = state
        self.base_url = base_url
        self.received = threading.Event()
        self.done = threading.Event()
        self.outcome: Outcome | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_port}{CALLBACK_PATH}"

    def accept(self, query: dict[str, list[str]]) -> Outcome:
        """The callback with our state: check what it carries."""
        error, token = _first(query, "error"), _first(query, "token")
        if error:
            return Outcome(error=f"the platform refused the sign-in: {_printable(error)}")
        if not token:
            return Outcome(error="the platform sent no token back")
        return check_token(self.base_url, token)


class _CallbackHandler(BaseHTTPRequestHandler):
    server: CallbackServer
    timeout = REQUEST_READ_TIMEOUT

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self._page(404, "Not found", "This address only receives a sign-in.")
            return
        query = parse_qs(parts.query)
        state = _first(query, "state")
        if self.server.done.is_set():
            self._page(410, "Already done", "This sign-in has already finished.")
        elif not hmac.compare_digest(state.encode(), self.server.state.encode()):
            sys.stderr.write("dqp: ignored a sign-in callback that does not carry our state\n")
            self._page(
                400,
                "Sign-in not accepted",
                "This answer does not belong to the sign-in your terminal is waiting for.",
            )
        else:
            self.server.received.set()
            outcome = self.server.accept(query)
            self.server.outcome = outcome
            if outcome.token:
                self._page(200, "Signed in", "You can close this page and go back to the terminal.")
            else:
                self._page(400, "Sign-in failed", f"{outcome.error}. See the terminal.")
            self.server.done.set()

    def _page(self, status: int, title: str, text: str) -> None:
        # The address bar still holds the token: take it out of the browser's history.
        body = (
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)} - dqplatform</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
            f"<script>history.replaceState(null, '', '{CALLBACK_PATH}')</script>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # request lines carry the token: never print them


def _first(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    return values[0] if values else ""


def _printable(text: str, limit: int = 200) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


def check_token(base_url: str, token: str) -> Outcome:
    """Use the token once (GET /api, then GET /api/users/me if the platform has it)."""
    try:
        with PlatformClient(base_url, token) as client:
            client.info()
            try:
                user: UserRead | None = client.me()
            except ApiError as exc:
                if exc.status_code != 404:
                    raise
                user = None
    except ApiError as exc:
        return Outcome(error=f"the new token was refused ({exc.status_code}: {exc.detail})")
    except httpx.HTTPError as exc:
        return Outcome(error=f"cannot reach the platform to check the token: {type(exc).__name__}")
    return Outcome(token=token, user=user)


def authorize_url(base_url: str, redirect_uri: str, state: str, hostname: str) -> str:
    query = urlencode({"redirect_uri": redirect_uri, "state": state, "hostname": hostname})
    return f"{base_url}/api/cli/authorize?{query}"


def _hostname() -> str:
    return platform.node().removesuffix(".local") or "unknown"


def _open_browser(url: str) -> None:
    # Some browsers (a $BROWSER command among them) block until they exit: own thread.
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        sys.stderr.write("dqp: could not start a browser; open the address above yourself\n")


def _wait(server: CallbackServer, timeout: float) -> Outcome | None:
    if not server.done.wait(timeout) and server.received.is_set():
        server.done.wait(CHECK_GRACE_SECONDS)
    return server.outcome if server.done.is_set() else None


def login(
    url: Annotated[
        str | None,
        typer.Option("--url", help="Platform URL (default: DQP_URL or the saved login)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the browser sign-in.", min=1)
    ] = 120,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the sign-in address; open nothing.")
    ] = False,
) -> None:
    """Sign in through the browser and save a new personal token for later commands."""
    base_url = normalize_url(load_client_config(url, None).url)
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).netloc:
        raise fail(f"the URL must start with http:// or https://, not {base_url!r}")
    state = secrets.token_urlsafe(32)
    server = CallbackServer(state, base_url)
    listener = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    listener.start()
    try:
        address = authorize_url(base_url, server.redirect_uri, state, _hostname())
        console.print(f"Sign in to {base_url} in your browser, at this address:")
        typer.echo(address)  # plain and unwrapped, to copy or to read from a script
        if not no_browser:
            threading.Thread(target=_open_browser, args=(address,), daemon=True).start()
        console.print(f"Waiting up to {timeout:g} s for the sign-in...")
        outcome = _wait(server, timeout)
    except KeyboardInterrupt:
        raise fail("sign-in cancelled", code=130) from None
    finally:
        server.shutdown()
        server.server_close()
    if outcome is None:
        raise fail(f"sign-in timed out: no answer from the browser within {timeout:g} s")
    if outcome.token is None:
        raise fail(outcome.error)
    path = save_client_config(base_url, outcome.token)
    who = f"{outcome.user.username} ({outcome.user.role})" if outcome.user else "a valid token"
    console.print(f"Signed in to {base_url} as {who}; saved to {path}")
    if os.environ.get("DQP_TOKEN"):
        console.print("[yellow]note: DQP_TOKEN is set and is used before the saved token[/yellow]")


def logout() -> None:
    """Forget the saved token (the URL stays). The token itself stays valid until revoked."""
    path = config_path()
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        console.print(f"Not signed in: no saved login at {path}")
        return
    except (OSError, ValueError):
        saved = {}
    if isinstance(saved, dict) and saved.get("url"):
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"url": saved["url"]}, handle)
    else:
        path.unlink()
    console.print(
        f"Removed the saved token from {path}. It stays valid until it expires or you revoke "
        "it (PUT /api/user-tokens/{id}, or the web UI)."
    )
