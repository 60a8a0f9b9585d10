"""GET/POST /api/cli/authorize: a browser sign-in that hands a command-line client a token.

The client listens on a loopback port and opens this page; after the person signs in, the
browser is sent to `redirect_uri?token=<t>&state=<s>` with a new personal token. Only
loopback redirect URIs are accepted, so a token can never be sent off the person's machine.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dqplatform.controlplane.auth import signing
from dqplatform.controlplane.auth.login import sign_in
from dqplatform.controlplane.auth.throttle import TooManyAttempts
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.errors import NotAuthenticated, PlatformError
from dqplatform.controlplane.state import SettingsDep, TokenRegistryDep, request_state
from dqplatform.controlplane.tokens import service as tokens
from dqplatform.controlplane.tokens.dependencies import on_commit
from dqplatform.controlplane.tokens.registry import TokenState
from dqplatform.controlplane.ui.headers import content_security_policy, security_headers
from dqplatform.controlplane.ui.pages import render

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/cli", tags=["auth"])

CLI_TOKEN_DAYS = 90
FORM_TTL_SECONDS = 600
FORM_COOKIE = "dqp_cli_form"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
MAX_STATE_LENGTH = 1024
MAX_HOSTNAME_LENGTH = 255
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


class InvalidRedirect(PlatformError):
    code = "invalid_redirect_uri"


@dataclass(frozen=True, slots=True)
class AuthorizeParams:
    redirect_uri: str
    state: str
    hostname: str
    target: SplitResult


def loopback_redirect(uri: str | None) -> SplitResult:
    """The parsed URI if it is http://<127.0.0.1|localhost|[::1]>:<port>/..., else 400."""
    rule = "redirect_uri must be http://127.0.0.1:<port>/..., localhost or [::1], with a port"
    # Printable ASCII only: browsers "repair" backslashes, spaces and tabs in ways
    # urlsplit does not, which is how host checks get fooled.
    if not uri or len(uri) > 2048 or not _PRINTABLE.fullmatch(uri) or "\\" in uri:
        raise InvalidRedirect(rule)
    try:
        parts = urlsplit(uri)
    except ValueError:  # brackets around something not IPv6 ("http://[evil.com]:1/")
        raise InvalidRedirect(rule) from None
    host, colon, port = parts.netloc.rpartition(":")
    if (
        parts.scheme != "http"
        or "#" in uri
        or "@" in parts.netloc
        or not colon
        or host.lower() not in LOOPBACK_HOSTS
        or not port.isdigit()
        or len(port) > 5
        or not 1 <= int(port) <= 65535
    ):
        raise InvalidRedirect(rule)
    return parts


def authorize_params(
    redirect_uri: str | None, state: str | None, hostname: str | None
) -> AuthorizeParams:
    target = loopback_redirect(redirect_uri)
    if not state or len(state) > MAX_STATE_LENGTH:
        raise PlatformError(f"state is required (at most {MAX_STATE_LENGTH} characters)")
    hostname = (hostname or "").strip()[:MAX_HOSTNAME_LENGTH] or "unknown"
    return AuthorizeParams(str(redirect_uri), state, hostname, target)


def redirect_with_token(target: SplitResult, token: str, state: str) -> str:
    extra = urlencode({"token": token, "state": state})
    query = f"{target.query}&{extra}" if target.query else extra
    return urlunsplit((target.scheme, target.netloc, target.path, query, ""))


def token_name_prefix(hostname: str) -> str:
    return "cli-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", hostname).strip("-.")[:60] or "unknown")


def _bound_to(nonce: str, params: AuthorizeParams) -> list[str]:
    return [nonce, params.redirect_uri, params.state, params.hostname]


def sign_form(secret: str, nonce: str, params: AuthorizeParams, issued: int) -> str:
    """A short-lived signature binding the form to its parameters and the browser's cookie."""
    return signing.sign(secret, signing.CLI_AUTHORIZE_FORM, _bound_to(nonce, params), issued)


def form_is_valid(
    secret: str, form_token: str, nonce: str | None, params: AuthorizeParams, now: float
) -> bool:
    if not nonce:
        return False
    return signing.verify(
        secret,
        signing.CLI_AUTHORIZE_FORM,
        _bound_to(nonce, params),
        form_token,
        ttl_seconds=FORM_TTL_SECONDS,
        now=now,
    )


def _security_headers(target: SplitResult) -> dict[str, str]:
    # No script at all, only the page's own inline style: it is served under /api, outside
    # the web pages' static files. The form may post here, and its answer may redirect to
    # the client. No referrer: the page's URL carries the client's state.
    policy = content_security_policy(
        {
            "default-src": "'none'",
            "style-src": "'unsafe-inline'",
            "form-action": f"'self' http://{target.netloc}",
            "frame-ancestors": "'none'",
            "base-uri": "'none'",
        }
    )
    return security_headers(policy, referrer_policy="no-referrer")


def _form_page(
    request: Request,
    params: AuthorizeParams,
    *,
    status_code: int = 200,
    error: str = "",
    username: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The sign-in page, with a fresh cookie nonce and a form token bound to it."""
    nonce = secrets.token_urlsafe(24)
    secret = request_state(request).settings.signing_secret
    response = render(
        "cli_authorize.html",
        status_code=status_code,
        headers={**_security_headers(params.target), **(headers or {})},
        action=request.url.path,
        hostname=params.hostname,
        token_prefix=token_name_prefix(params.hostname),
        target=params.target.netloc,
        redirect_uri=params.redirect_uri,
        state=params.state,
        form_token=sign_form(secret, nonce, params, int(time.time())),
        username=username,
        error=error,
    )
    response.set_cookie(
        FORM_COOKIE,
        nonce,
        max_age=FORM_TTL_SECONDS,
        path=request.url.path,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get(
    "/authorize",
    response_class=HTMLResponse,
    summary="Sign-in page for a command-line client",
    responses={400: {"description": "redirect_uri is not a loopback URL, or state is missing."}},
)
def show_authorize_form(
    request: Request,
    redirect_uri: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    hostname: Annotated[str | None, Query()] = None,
) -> Response:
    """The page a command-line client opens in the browser to get a personal token."""
    return _form_page(request, authorize_params(redirect_uri, state, hostname))


@router.post(
    "/authorize",
    response_class=HTMLResponse,
    summary="Sign in and send a new personal token to the command-line client",
    responses={303: {"description": "Redirect to redirect_uri with token and state."}},
)
def submit_authorize_form(
    request: Request,
    session: SessionDep,
    registry: TokenRegistryDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=1024)],
    redirect_uri: Annotated[str, Form()],
    state: Annotated[str, Form()],
    hostname: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the password; on success create the token and redirect (303) to the client."""
    params = authorize_params(redirect_uri, state, hostname)
    nonce = request.cookies.get(FORM_COOKIE)
    if not form_is_valid(settings.signing_secret, form_token, nonce, params, time.time()):
        return _form_page(
            request,
            params,
            status_code=400,
            username=username,
            error="This sign-in form has expired or was opened elsewhere. Please sign in again.",
        )
    try:
        user = sign_in(request, session, username, password)
    except TooManyAttempts as exc:
        return _form_page(
            request,
            params,
            status_code=429,
            username=username,
            error=exc.message,
            headers=exc.headers,
        )
    except NotAuthenticated as exc:
        return _form_page(request, params, status_code=401, username=username, error=exc.message)
    issued = tokens.create_token(
        session,
        secret=settings.signing_secret,
        user_id=user.id,
        role=user.role_enum,
        name=f"{token_name_prefix(params.hostname)}-{secrets.token_hex(4)}",
        expires_in_days=CLI_TOKEN_DAYS,
    )
    row = issued.row
    on_commit(session, lambda: registry.apply(row.jti, TokenState(row.user_id)))
    logger.info("personal token %d created for %s by browser sign-in", row.id, user.username)
    response = RedirectResponse(
        redirect_with_token(params.target, issued.value, params.state),
        status_code=303,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
    response.delete_cookie(FORM_COOKIE, path=request.url.path)
    return response
