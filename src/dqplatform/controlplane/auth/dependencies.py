"""FastAPI dependencies for authentication and role checks, as `Annotated` aliases.

A request authenticates with `Authorization: Bearer <token>` or, for the web pages in a
browser, with the HttpOnly session cookie; a cookie-authenticated request that changes
state must also carry the session's CSRF token in the X-CSRF-Token header.

Each alias is one dependency that reads the credentials, authenticates them and checks the
role: FastAPI's cost per dependency is paid on every request, and a chain of four (role
check, principal, bearer scheme, cookie scheme) cost GET /api more than the endpoint itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from dqplatform.controlplane.auth import signing
from dqplatform.controlplane.auth.authenticator import Principal
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import SESSION, InvalidToken
from dqplatform.controlplane.errors import Forbidden, NotAuthenticated
from dqplatform.controlplane.state import request_state

SESSION_COOKIE = "dqp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The bearer scheme's name in the OpenAPI document.
BEARER_SCHEME = "HTTPBearer"


class CsrfRejected(Forbidden):
    code = "csrf_rejected"


def csrf_token(secret: str, token_id: str) -> str:
    """The CSRF token of the session whose JWT has `jti` = `token_id`.

    Derived, not stored: an HMAC under a key of its own, so it is worthless for any other
    session and cannot be mistaken for any other signature the platform makes.
    """
    return signing.mac(secret, signing.CSRF, token_id)


def csrf_token_matches(secret: str, principal: Principal, presented: str | None) -> bool:
    return signing.same(csrf_token(secret, principal.token_id), presented)


def session_principal(request: Request, token: str) -> Principal:
    """The principal of a session cookie's token; raise InvalidToken if it is not one."""
    principal = request_state(request).authenticator.authenticate(token)
    # Only the sign-in page sets the cookie, and only with a session token.
    if principal.token_type != SESSION:
        raise InvalidToken("the session cookie holds no session token")
    return principal


def _from_cookie(request: Request, token: str) -> Principal:
    try:
        principal = session_principal(request, token)
    except InvalidToken as exc:
        raise NotAuthenticated(str(exc)) from None
    if request.method not in SAFE_METHODS:
        secret = request_state(request).settings.signing_secret
        if not csrf_token_matches(secret, principal, request.headers.get(CSRF_HEADER)):
            raise CsrfRejected(f"missing or invalid {CSRF_HEADER} header")
    return principal


def _authorization_header(request: Request) -> str | None:
    # What request.headers.get("authorization") answers (the first such header), read from
    # the ASGI scope without building the Headers mapping: this runs on every request.
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


def _principal(request: Request) -> Principal:
    authorization = _authorization_header(request)
    if authorization is None:
        # A browser on the web pages. An Authorization header always wins over the cookie.
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return _from_cookie(request, cookie)
    # The rules of FastAPI's HTTPBearer: "Bearer" (any case), a space, then the token.
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if not token or scheme.lower() != "bearer":
        raise NotAuthenticated("missing bearer token")
    try:
        return request_state(request).authenticator.authenticate(token)
    except InvalidToken as exc:
        raise NotAuthenticated(str(exc)) from None


class Authenticate(HTTPBearer):
    """The dependency behind every alias below: the request's principal, with at least the
    `required` role (any role if None). It is the bearer scheme in the OpenAPI document."""

    def __init__(self, required: Role | None = None):
        super().__init__(
            scheme_name=BEARER_SCHEME,
            auto_error=False,
            description="A session or personal token (JWT). The web pages send the session "
            f"token in the HttpOnly {SESSION_COOKIE} cookie instead; their requests other "
            f"than GET, HEAD and OPTIONS must also send its CSRF token in {CSRF_HEADER}.",
        )
        self.required = required

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return authorize(request, self.required)


def authorize(request: Request, required: Role | None = None) -> Principal:
    """The request's principal, with at least the `required` role (any role if None).

    What every alias below runs. The endpoints polled all day (GET /api, GET /api/status) call
    it first thing instead of declaring a dependency, with `openapi_extra=BEARER_SECURITY` so
    the OpenAPI document says the same: FastAPI's solving of one dependency cost GET /api
    about a sixth of its time (docs/performance.md).
    """
    principal = _principal(request)
    if required is not None and not principal.role.allows(required):
        raise Forbidden(f"requires the {required.value} role")
    return principal


# What a dependency on Authenticate adds to an operation in the OpenAPI document.
BEARER_SECURITY: dict[str, Any] = {"security": [{BEARER_SCHEME: []}]}


CurrentUser = Annotated[Principal, Depends(Authenticate())]
RequireMember = Annotated[Principal, Depends(Authenticate(Role.MEMBER))]
RequireManager = Annotated[Principal, Depends(Authenticate(Role.MANAGER))]
RequireAdmin = Annotated[Principal, Depends(Authenticate(Role.ADMIN))]
