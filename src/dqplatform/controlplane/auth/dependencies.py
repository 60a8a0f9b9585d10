"""FastAPI dependencies for authentication and role checks, as `Annotated` aliases.

A request authenticates with `Authorization: Bearer <token>` or, for the web pages in a
browser, with the HttpOnly session cookie; a cookie-authenticated request that changes
state must also carry the session's CSRF token in the X-CSRF-Token header.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from dqplatform.controlplane.auth.authenticator import Authenticator, Principal
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import SESSION, InvalidToken
from dqplatform.controlplane.errors import Forbidden, NotAuthenticated

SESSION_COOKIE = "dqp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="A session or personal token (JWT).")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The web pages' session token (HttpOnly). Requests other than GET, HEAD "
    f"and OPTIONS must also send the session's CSRF token in {CSRF_HEADER}.",
)


class CsrfRejected(Forbidden):
    code = "csrf_rejected"


def csrf_token(secret: str, token_id: str) -> str:
    """The CSRF token of the session whose JWT has `jti` = `token_id`.

    Derived, not stored: an HMAC under a key of its own, so it is worthless for any other
    session and cannot be mistaken for any other signature the platform makes.
    """
    key = hmac.new(secret.encode(), b"dqplatform csrf", hashlib.sha256).digest()
    return hmac.new(key, token_id.encode(), hashlib.sha256).hexdigest()


def csrf_token_matches(secret: str, principal: Principal, presented: str | None) -> bool:
    expected = csrf_token(secret, principal.token_id).encode()
    return hmac.compare_digest(expected, (presented or "").encode())


def session_principal(request: Request, token: str) -> Principal:
    """The principal of a session cookie's token; raise InvalidToken if it is not one."""
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.authenticate(token)
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
        secret = request.app.state.settings.signing_secret
        if not csrf_token_matches(secret, principal, request.headers.get(CSRF_HEADER)):
            raise CsrfRejected(f"missing or invalid {CSRF_HEADER} header")
    return principal


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    if "authorization" not in request.headers and cookie:
        # A browser on the web pages. An Authorization header always wins over the cookie.
        principal = _from_cookie(request, cookie)
        request.state.principal = principal
        return principal
    if credentials is None:
        raise NotAuthenticated("missing bearer token")
    if credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise NotAuthenticated("malformed authorization header")
    authenticator: Authenticator = request.app.state.authenticator
    try:
        principal = authenticator.authenticate(credentials.credentials)
    except InvalidToken as exc:
        raise NotAuthenticated(str(exc)) from None
    request.state.principal = principal
    return principal


def require_role(required: Role):  # type: ignore[no-untyped-def]
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.role.allows(required):
            raise Forbidden(f"requires the {required.value} role")
        return principal

    return check


CurrentUser = Annotated[Principal, Depends(current_principal)]
RequireMember = Annotated[Principal, Depends(require_role(Role.MEMBER))]
RequireManager = Annotated[Principal, Depends(require_role(Role.MANAGER))]
RequireAdmin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
