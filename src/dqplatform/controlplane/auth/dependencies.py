"""FastAPI dependencies for authentication and role checks, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dqplatform.controlplane.auth.authenticator import Authenticator, Principal
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import InvalidToken
from dqplatform.controlplane.errors import Forbidden, NotAuthenticated

_bearer = HTTPBearer(auto_error=False, description="A session or personal token (JWT).")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
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
