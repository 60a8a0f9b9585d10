"""Issuing, listing, revoking and deleting personal tokens. Callers own the transaction."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import ALGORITHM
from dqplatform.controlplane.db.base import utcnow
from dqplatform.controlplane.errors import Conflict, NotFound, PlatformError
from dqplatform.controlplane.tokens.models import UserToken

PERSONAL = "personal"
MAX_EXPIRY_DAYS = 365
# Long enough for every process to have reloaded many times; see TokenRegistry.
TOMBSTONE_TTL = timedelta(days=1)


def new_jti(now: datetime) -> str:
    """A UUIDv7 (RFC 9562): its first 48 bits are the creation time in milliseconds."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand_a, rand_b = secrets.randbits(12), secrets.randbits(62)
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def jti_created_at(jti: str) -> float | None:
    """The creation time (epoch seconds) a UUIDv7 jti carries, or None for any other jti."""
    try:
        parsed = uuid.UUID(jti)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    return (parsed.int >> 80) / 1000


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def sign_personal_token(
    secret: str, user_id: int, role: Role, jti: str, issued: datetime, expires: datetime | None
) -> str:
    claims: dict[str, object] = {
        "sub": str(user_id),
        "role": role.value,
        "iat": int(issued.timestamp()),
        "jti": jti,
        "typ": PERSONAL,
    }
    if expires is not None:
        # Without "exp" the token never expires: that is how clients read it too.
        claims["exp"] = int(expires.timestamp())
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    row: UserToken
    value: str


def _live(user_id: int):  # type: ignore[no-untyped-def]
    return select(UserToken).where(UserToken.user_id == user_id, UserToken.deleted_at.is_(None))


def create_token(
    session: Session,
    *,
    secret: str,
    user_id: int,
    role: Role,
    name: str,
    expires_in_days: int | None,
    now: datetime | None = None,
) -> IssuedToken:
    """Sign a new personal token and store its hash; the value is returned here only."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise PlatformError(
            f"expires_in_days must be 1-{MAX_EXPIRY_DAYS} or null",
            status_code=422,
            code="invalid_expiry",
        )
    if session.scalar(_live(user_id).where(UserToken.name == name)) is not None:
        raise Conflict(f"you already have a token named {name!r}")
    issued = now or utcnow()
    expires = issued + timedelta(days=expires_in_days) if expires_in_days else None
    jti = new_jti(issued)
    value = sign_personal_token(secret, user_id, role, jti, issued, expires)
    row = UserToken(
        user_id=user_id,
        name=name,
        jti=jti,
        token_hash=hash_token(value),
        created_at=issued,
        expires_at=expires,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # Another request created the same name between our check and this insert.
        raise Conflict(f"you already have a token named {name!r}") from None
    return IssuedToken(row, value)


def list_tokens(session: Session, user_id: int) -> list[UserToken]:
    return list(session.scalars(_live(user_id).order_by(UserToken.id)))


def require_token(session: Session, user_id: int, token_id: int) -> UserToken:
    """The caller's live token; another user's token is as unknown as a missing one."""
    row = session.scalar(_live(user_id).where(UserToken.id == token_id))
    if row is None:
        raise NotFound(f"no token with id {token_id}")
    return row


def set_revoked(
    session: Session, row: UserToken, revoke: bool, now: datetime | None = None
) -> UserToken:
    if revoke and row.revoked_at is None:
        row.revoked_at = now or utcnow()
    elif not revoke:
        row.revoked_at = None
    session.flush()
    return row


def delete_token(session: Session, row: UserToken, now: datetime | None = None) -> None:
    """Mark the token deleted (a tombstone) and purge tombstones old enough to forget."""
    moment = now or utcnow()
    row.deleted_at = moment
    session.flush()
    session.execute(delete(UserToken).where(UserToken.deleted_at < moment - TOMBSTONE_TTL))
