"""GET/POST /api/user-tokens, PUT/DELETE /api/user-tokens/{id}: the caller's personal tokens."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from dqplatform.controlplane.auth.dependencies import RequireMember
from dqplatform.controlplane.db.session import SessionDep
from dqplatform.controlplane.paging import MAX_ID
from dqplatform.controlplane.state import SettingsDep, TokenRegistryDep
from dqplatform.controlplane.tokens import service
from dqplatform.controlplane.tokens.dependencies import on_commit
from dqplatform.controlplane.tokens.registry import TokenState
from dqplatform.controlplane.tokens.schemas import TokenCreate, TokenCreated, TokenRead, TokenUpdate

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/user-tokens", tags=["user tokens"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such token among yours."}}
# Bounded so that a huge id is a 422, not an integer overflow in the database.
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", response_model=list[TokenRead], summary="List your personal tokens")
def list_user_tokens(session: SessionDep, user: RequireMember) -> list[TokenRead]:
    """Your tokens, oldest first, without their values."""
    return [TokenRead.model_validate(row) for row in service.list_tokens(session, user.user_id)]


@router.post(
    "",
    status_code=201,
    response_model=TokenCreated,
    summary="Create a personal token",
    responses={409: {"description": "You already have a token with this name."}},
)
def create_user_token(
    body: TokenCreate,
    settings: SettingsDep,
    session: SessionDep,
    registry: TokenRegistryDep,
    user: RequireMember,
) -> TokenCreated:
    """Sign a new token for yourself. Its value is in this answer only: keep it safe."""
    issued = service.create_token(
        session,
        secret=settings.signing_secret,
        user_id=user.user_id,
        role=user.role,
        name=body.name,
        expires_in_days=body.expires_in_days,
    )
    row = issued.row
    on_commit(session, lambda: registry.apply(row.jti, TokenState(row.user_id)))
    logger.info("personal token %d created by %s", row.id, user.username)
    return TokenCreated(**TokenRead.model_validate(row).model_dump(), token=issued.value)


@router.put(
    "/{token_id}",
    response_model=TokenRead,
    summary="Revoke or restore a personal token",
    responses=_NOT_FOUND,
)
def update_user_token(
    token_id: TokenId,
    body: TokenUpdate,
    session: SessionDep,
    registry: TokenRegistryDep,
    user: RequireMember,
) -> TokenRead:
    """`{"revoke": true}` revokes the token, `{"revoke": false}` restores it."""
    row = service.set_revoked(
        session, service.require_token(session, user.user_id, token_id), body.revoke
    )
    state = TokenState(row.user_id, revoked=row.revoked)
    on_commit(session, lambda: registry.apply(row.jti, state))
    logger.info(
        "personal token %d %s by %s",
        row.id,
        "revoked" if body.revoke else "restored",
        user.username,
    )
    return TokenRead.model_validate(row)


@router.delete(
    "/{token_id}", status_code=204, summary="Delete a personal token", responses=_NOT_FOUND
)
def delete_user_token(
    token_id: TokenId, session: SessionDep, registry: TokenRegistryDep, user: RequireMember
) -> Response:
    """Delete the token for good; it stops working at once."""
    row = service.require_token(session, user.user_id, token_id)
    jti, owner = row.jti, row.user_id
    service.delete_token(session, row)
    on_commit(session, lambda: registry.apply(jti, TokenState(owner, deleted=True)))
    logger.info("personal token %d deleted by %s", token_id, user.username)
    return Response(status_code=204)
