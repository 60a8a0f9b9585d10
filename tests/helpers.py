"""Small helpers the suites share: creating users and tokens directly in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.models import LoginFailures
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.throttle import LoginThrottle
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.db.migrate import upgrade_database
from dqplatform.controlplane.users import service
from dqplatform.settings import Settings

PASSWORD = "correct horse battery"


def create_user(settings: Settings, username: str, role: Role) -> int:
    engine = create_db_engine(settings)
    try:
        upgrade_database(engine)
        with Session(engine) as session, session.begin():
            return service.create_user(session, username, PASSWORD, role).id
    finally:
        engine.dispose()


def token_for(settings: Settings, username: str, role: Role, ttl: int = 600) -> str:
    """Create the user and return a session token for it."""
    user_id = create_user(settings, username, role)
    return issue_session_token(settings.signing_secret, user_id, role, ttl)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fresh_login_throttle(state: Any, **limits: Any) -> LoginThrottle:
    """Give the app (its `state`) a new login throttle with these limits, every failed
    sign-in counted so far forgotten: the counts live in the app's database, so tests that
    share an app would otherwise inherit each other's failures."""
    with state.engine.begin() as connection:
        connection.execute(delete(LoginFailures))
    throttle = LoginThrottle(state.engine, **limits)
    state.login_throttle = throttle
    return throttle
