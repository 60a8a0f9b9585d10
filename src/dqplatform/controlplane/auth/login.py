"""POST /api/auth/login: username and password in, a session token out."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.throttle import client_address, login_throttle
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.errors import NotAuthenticated
from dqplatform.controlplane.state import SettingsDep, request_state
from dqplatform.controlplane.users import service
from dqplatform.controlplane.users.models import User

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])

# The same words for an unknown user and a wrong password: no hint which users exist.
BAD_CREDENTIALS = "invalid username or password"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=256)
    password: SecretStr = Field(max_length=1024)


class LoginResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, no secret
    expires_in: int = Field(description="Seconds until the token expires.")


def sign_in(request: Request, session: Session, username: str, password: str) -> User:
    """Check a password under the failed-attempt limits; raise NotAuthenticated if wrong and
    TooManyAttempts (429) while the username or the client address is limited."""
    throttle = login_throttle(request.app)
    address = client_address(request)
    attempt = throttle.acquire(username, address)
    try:
        user = service.authenticate(session, username, password)
    except Exception:
        throttle.cancel(attempt)  # not the person's failure: the database's
        raise
    if user is None:
        # The username is left out: people type their password into it by mistake.
        logger.warning("failed sign-in from %s", address)
        raise NotAuthenticated(BAD_CREDENTIALS)
    throttle.succeeded(attempt)
    directory = request_state(request).users
    if directory.get(user.id) is None:
        # A user created since the last reload: make their first token usable at once.
        directory.reload()
    logger.info("%s signed in from %s", user.username, address)
    return user


@router.post(
    "/login",
    response_model=LoginResponse,
    summary="Sign in",
    responses={
        401: {"description": "Wrong username or password."},
        429: {"description": "Too many failed attempts; see Retry-After."},
    },
)
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> LoginResponse:
    """Exchange a username and password for a session token (a JWT with `exp`)."""
    user = sign_in(request, session, body.username, body.password.get_secret_value())
    token = issue_session_token(
        settings.signing_secret, user.id, user.role_enum, settings.jwt_ttl_seconds
    )
    return LoginResponse(access_token=token, expires_in=settings.jwt_ttl_seconds)
