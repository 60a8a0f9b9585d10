"""/api/users: user management for Admins, and GET /api/users/me for everyone."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.dependencies import RequireAdmin, RequireMember
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.paging import DEFAULT_PAGE_SIZE, MAX_ID, PageNumber, PageSize, offset
from dqplatform.controlplane.state import request_state
from dqplatform.controlplane.tokens.dependencies import on_commit
from dqplatform.controlplane.users import service
from dqplatform.controlplane.users.schemas import (
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/users", tags=["users"])

Responses = dict[int | str, dict[str, Any]]
_NOT_FOUND: Responses = {404: {"description": "No user with this id."}}
# Bounded so that a huge id is a 422, not an integer overflow in the database.
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]
_LAST_ADMIN: Responses = {409: {"description": "The change would leave no Admin."}}


def _refresh_directory(request: Request, session: Session) -> None:
    # Tokens are checked against the user directory: refresh it here as soon as the change
    # is committed rather than at its next periodic reload.
    on_commit(session, request_state(request).users.reload)


@router.get("/me", response_model=UserRead, summary="Get the signed-in user")
def get_me(session: SessionDep, me: RequireMember) -> UserRead:
    """The user the token belongs to."""
    return UserRead.model_validate(service.require_user(session, me.user_id))


@router.get("", response_model=UserPage, summary="List users")
def list_users(
    session: SessionDep,
    _: RequireAdmin,
    page: PageNumber = 1,
    size: PageSize = DEFAULT_PAGE_SIZE,
) -> UserPage:
    """Users by id, one page at a time."""
    rows = service.list_users(session, offset=offset(page, size), limit=size)
    return UserPage(
        items=[UserRead.model_validate(row) for row in rows],
        total=service.count_users(session),
        page=page,
        size=size,
    )


@router.get("/{user_id}", response_model=UserRead, summary="Get a user", responses=_NOT_FOUND)
def get_user(user_id: UserId, session: SessionDep, _: RequireAdmin) -> UserRead:
    return UserRead.model_validate(service.require_user(session, user_id))


@router.post(
    "",
    status_code=201,
    response_model=UserRead,
    summary="Create a user",
    responses={409: {"description": "The username is taken."}},
)
def create_user(
    body: UserCreate, request: Request, session: SessionDep, admin: RequireAdmin
) -> UserRead:
    user = service.create_user(session, body.username, body.password.get_secret_value(), body.role)
    _refresh_directory(request, session)
    logger.info("user %s (%s) created by %s", user.username, user.role, admin.username)
    return UserRead.model_validate(user)


@router.put(
    "/{user_id}",
    response_model=UserRead,
    summary="Change a user's role",
    responses={**_NOT_FOUND, **_LAST_ADMIN},
)
def update_user(
    user_id: UserId,
    body: UserUpdate,
    request: Request,
    session: SessionDep,
    admin: RequireAdmin,
) -> UserRead:
    """Set the user's role; it applies to their existing tokens too."""
    user = service.require_user(session, user_id)
    service.ensure_an_admin_remains(session, user, body.role)
    service.set_role(session, user, body.role)
    _refresh_directory(request, session)
    logger.info("user %s is now %s (by %s)", user.username, body.role.value, admin.username)
    return UserRead.model_validate(user)


@router.delete(
    "/{user_id}",
    status_code=204,
    summary="Delete a user",
    responses={**_NOT_FOUND, **_LAST_ADMIN},
)
def delete_user(
    user_id: UserId, request: Request, session: SessionDep, admin: RequireAdmin
) -> Response:
    """Delete the user and their personal tokens; their tokens stop working."""
    user = service.require_user(session, user_id)
    service.ensure_an_admin_remains(session, user, None)
    username = user.username
    service.remove_user(session, user)
    _refresh_directory(request, session)
    logger.info("user %s deleted by %s", username, admin.username)
    return Response(status_code=204)
