"""The browser's session cookie, and the token that ties a sign-in form to its browser."""

from __future__ import annotations

import secrets
import time

from fastapi import Request, Response

from dqplatform.controlplane.auth import signing
from dqplatform.controlplane.auth.authenticator import Principal
from dqplatform.controlplane.auth.dependencies import SESSION_COOKIE, session_principal
from dqplatform.controlplane.auth.tokens import InvalidToken
from dqplatform.controlplane.state import request_state

LOGIN_FORM_COOKIE = "dqp_login_form"
LOGIN_PATH = "/ui/login"
# Long enough for someone who opens the page and comes back to it later; the token only
# stops another site from signing a browser in to an account of its choosing.
LOGIN_FORM_TTL_SECONDS = 3600


def browser_principal(request: Request) -> Principal | None:
    """Who the session cookie belongs to, or None without a valid one (pages redirect then)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return session_principal(request, token)
    except InvalidToken:
        return None


def _is_https(request: Request) -> bool:
    # uvicorn sets the scheme from X-Forwarded-Proto when the proxy is trusted.
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, token: str, ttl: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl,
        path="/",  # the API under /api is called with it too
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_is_https(request)
    )


def new_login_form(request: Request) -> tuple[str, str]:
    """A fresh nonce for the browser's cookie and the form token bound to it."""
    nonce = secrets.token_urlsafe(24)
    secret = request_state(request).settings.signing_secret
    return nonce, signing.sign(secret, signing.UI_SIGN_IN_FORM, [nonce], int(time.time()))


def set_login_form_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(
        LOGIN_FORM_COOKIE,
        nonce,
        max_age=LOGIN_FORM_TTL_SECONDS,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
    )


def login_form_is_valid(request: Request, form_token: str) -> bool:
    nonce = request.cookies.get(LOGIN_FORM_COOKIE)
    if not nonce:
        return False
    return signing.verify(
        request_state(request).settings.signing_secret,
        signing.UI_SIGN_IN_FORM,
        [nonce],
        form_token,
        ttl_seconds=LOGIN_FORM_TTL_SECONDS,
        now=time.time(),
    )


def clear_login_form(response: Response) -> None:
    response.delete_cookie(LOGIN_FORM_COOKIE, path=LOGIN_PATH)
