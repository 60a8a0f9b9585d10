"""Creating, listing, changing and removing users. Callers own the transaction."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
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
