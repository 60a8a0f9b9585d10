"""Creating, listing, changing and removing users. Callers own the transaction."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.errors import Conflict, NotFound, PlatformError
from dqplatform.controlplane.users.models import User

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def validate_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise PlatformError(
            "username must be 1-64 characters: letters, digits, '.', '_', '@' or '-'",
            status_code=422,
            code="invalid_username",
        )
    return username


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PlatformError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters",
            status_code=422,
            code="invalid_password",
        )
    return password


def get_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def require_by_username(session: Session, username: str) -> User:
    user = get_by_username(session, username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def create_user(session: Session, username: str, password: str, role: Role) -> User:
    validate_username(username)
    validate_password(password)
    if get_by_username(session, username) is not None:
        raise Conflict(f"a user named {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role.value)
    session.add(user)
    session.flush()
    return user


def list_users(session: Session, offset: int = 0, limit: int | None = None) -> list[User]:
    query = select(User).order_by(User.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def set_role(session: Session, user: User, role: Role) -> User:
    user.role = role.value
    session.flush()
    return user


def remove_user(session: Session, user: User) -> None:
    session.delete(user)
    session.flush()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def require_user(session: Session, user_id: int) -> User:
    user = get_user(session, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


def ensure_an_admin_remains(session: Session, user: User, new_role: Role | None) -> None:
    """Refuse to demote (new_role) or delete (None) the last Admin: 409 with the reason."""
    if user.role != Role.ADMIN.value or new_role == Role.ADMIN:
        return
    # FOR UPDATE (PostgreSQL) makes two Admins demoting each other at once wait in turn.
    admins = session.scalars(
        select(User.id).where(User.role == Role.ADMIN.value).with_for_update()
    ).all()
    if len(admins) <= 1:
        action = "delete" if new_role is None else "demote"
        raise Conflict(
            f"cannot {action} the last admin: make another user admin first",
            code="last_admin",
        )


@cache
def _dummy_hash() -> str:
    return hash_password("dummy password that nobody uses")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password is right, else None; as slow for unknown users as for known."""
    user = get_by_username(session, username)
    if user is None:
        # Verify against a throwaway hash so the timing does not tell which users exist.
        verify_password(_dummy_hash(), password)
        return None
    return user if verify_password(user.password_hash, password) else None
