"""The pages: / and /ui/login, /ui/logout, /ui/status and /ui/forbidden."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import OperationalError

from dqplatform.controlplane.auth.authenticator import Principal
from dqplatform.controlplane.auth.dependencies import (
    CsrfRejected,
    csrf_token,
    csrf_token_matches,
)
from dqplatform.controlplane.auth.login import sign_in
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.throttle import TooManyAttempts
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.errors import NotAuthenticated
from dqplatform.controlplane.platform.schemas import PlatformInfo
from dqplatform.controlplane.state import request_state
from dqplatform.controlplane.ui.pages import render
from dqplatform.controlplane.ui.session import (
    LOGIN_PATH,
    browser_principal,
    clear_login_form,
    clear_session_cookie,
    login_form_is_valid,
    new_login_form,
    set_login_form_cookie,
    set_session_cookie,
)

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

STATUS_PATH = "/ui/status"
FORBIDDEN_PATH = "/ui/forbidden"
MAX_USERNAME = 256
MAX_PASSWORD = 1024


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


def _login_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str = "",
    username: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    nonce, form_token = new_login_form(request)
    response = render(
        "login.html",
        status_code=status_code,
        headers=headers,
        form_token=form_token,
        username=username,
        error=error,
    )
    set_login_form_cookie(request, response, nonce)
    return response


@router.get("/")
def root() -> Response:
    return _redirect(STATUS_PATH)


@router.get("/ui")
def ui_root() -> Response:
    return _redirect(STATUS_PATH)


@router.get(LOGIN_PATH)
def login_form(request: Request) -> Response:
    if browser_principal(request) is not None:
        return _redirect(STATUS_PATH)
    return _login_page(request)


@router.post(LOGIN_PATH)
def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the password under the same throttle as POST /api/auth/login; set the cookie."""
    if not login_form_is_valid(request, form_token):
        return _login_page(
            request,
            status_code=400,
            username=username[:MAX_USERNAME],
            error="This sign-in form has expired or was opened elsewhere. Please sign in again.",
        )
    if not username or not password or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return _login_page(
            request,
            status_code=400,
            username=username[:MAX_USERNAME],
            error="Enter your username and password.",
        )
    try:
        # Only reads: a session of its own, so a database outage is answered on this page.
        with request_state(request).session_factory() as session:
            user = sign_in(request, session, username, password)
    except TooManyAttempts as exc:
        return _login_page(
            request, status_code=429, username=username, error=exc.message, headers=exc.headers
        )
    except NotAuthenticated as exc:
        return _login_page(request, status_code=401, username=username, error=exc.message)
    except OperationalError:
        logger.warning("sign-in page: the database is unavailable")
        return _login_page(
            request,
            status_code=503,
            username=username,
            error="The platform's database is unavailable. Please try again shortly.",
        )
    settings = request_state(request).settings
    token = issue_session_token(
        settings.signing_secret, user.id, user.role_enum, settings.jwt_ttl_seconds
    )
    response = _redirect(STATUS_PATH)
    set_session_cookie(request, response, token, settings.jwt_ttl_seconds)
    clear_login_form(response)
    return response


@router.post("/ui/logout")
def logout(
    request: Request, csrf_token_field: Annotated[str, Form(alias="csrf_token")] = ""
) -> Response:
    """Forget the session cookie. With a valid session, the form must carry its CSRF token,
    so another site cannot sign people out."""
    principal = browser_principal(request)
    if principal is not None:
        secret = request_state(request).settings.signing_secret
        if not csrf_token_matches(secret, principal, csrf_token_field):
            raise CsrfRejected("missing or invalid csrf_token field")
        logger.info("%s signed out", principal.username)
    response = _redirect(LOGIN_PATH)
    clear_session_cookie(request, response)
    return response


def _page_context(request: Request, principal: Principal) -> dict[str, Any]:
    """What the header of a signed-in page shows, and the token its forms and scripts send."""
    settings = request_state(request).settings
    return {
        "username": principal.username,
        "role": principal.role.value,
        "csrf_token": csrf_token(settings.signing_secret, principal.token_id),
    }


@router.get(STATUS_PATH)
def status_page(request: Request) -> Response:
    """The Platform Status page: Manager or Admin; a Member is sent to /ui/forbidden."""
    principal = browser_principal(request)
    if principal is None:
        return _redirect(LOGIN_PATH)
    if not principal.role.allows(Role.MANAGER):
        return _redirect(FORBIDDEN_PATH)
    info = PlatformInfo.model_validate_json(request_state(request).platform_info_json)
    return render(
        "status.html",
        info=info,
        is_admin=principal.role.allows(Role.ADMIN),
        **_page_context(request, principal),
    )


@router.get(FORBIDDEN_PATH)
def forbidden_page(request: Request) -> Response:
    principal = browser_principal(request)
    if principal is None:
        return _redirect(LOGIN_PATH)
    if principal.role.allows(Role.MANAGER):
        return _redirect(STATUS_PATH)
    return render("forbidden.html", status_code=403, **_page_context(request, principal))
