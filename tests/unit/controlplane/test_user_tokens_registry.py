"""The personal-token snapshot: what it refuses, how fresh it is, and life without a database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import InvalidToken, TokenClaims, decode_token
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.db.migrate import upgrade_database
from dqplatform.controlplane.tokens import service
from dqplatform.controlplane.tokens.models import UserToken
from dqplatform.controlplane.tokens.registry import (
    NEW_TOKEN_GRACE_SECONDS,
    TokenRegistry,
    TokenState,
)
from dqplatform.controlplane.users.service import create_user
from tests.conftest import SettingsFactory

SECRET = "unit-test-secret-of-a-proper-length-for-hs256"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(make_settings: SettingsFactory) -> Iterator[Engine]:
    engine = create_db_engine(make_settings())
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def user_id(factory: sessionmaker[Session]) -> int:
    with factory.begin() as session:
        return create_user(session, "alice", "a long password", Role.MEMBER).id


def new_token(
    factory: sessionmaker[Session], user_id: int, name: str, now: datetime | None = None
) -> tuple[str, TokenClaims]:
    with factory.begin() as session:
        issued = service.create_token(
            session,
            secret=SECRET,
            user_id=user_id,
            role=Role.MEMBER,
            name=name,
            expires_in_days=None,
            now=now,
        )
        return issued.row.jti, decode_token(SECRET, issued.value)


def change(factory: sessionmaker[Session], jti: str, action: str) -> None:
    with factory.begin() as session:
        row = session.scalars(select(UserToken).where(UserToken.jti == jti)).one()
        if action == "delete":
            service.delete_token(session, row)
        else:
            service.set_revoked(session, row, action == "revoke")


def test_jti_is_a_uuid7_carrying_its_creation_time() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)
    jti = service.new_jti(moment)
    assert uuid.UUID(jti).version == 7
    assert uuid.UUID(jti).variant == uuid.RFC_4122
    assert service.jti_created_at(jti) == moment.timestamp()
    assert service.new_jti(moment) != jti
    assert service.jti_created_at(str(uuid.uuid4())) is None
    assert service.jti_created_at("not-a-uuid") is None


def test_session_tokens_are_not_its_business(factory: sessionmaker[Session]) -> None:
    registry = TokenRegistry(factory, 5)  # not even loaded
    registry.check(TokenClaims(1, Role.MEMBER, "any", "session", None))
    with pytest.raises(InvalidToken, match="cannot be checked yet"):
        registry.check(
            TokenClaims(1, Role.MEMBER, service.new_jti(datetime.now(UTC)), "personal", None)
        )


def test_revoked_restored_and_deleted_tokens_after_a_reload(
    factory: sessionmaker[Session], user_id: int
) -> None:
    jti, claims = new_token(factory, user_id, "ci")
    registry = TokenRegistry(factory, 5)
    registry.reload()
    registry.check(claims)
    change(factory, jti, "revoke")
    registry.check(claims)  # not reloaded yet: this process did not make the change
    registry.reload()
    with pytest.raises(InvalidToken, match="revoked"):
        registry.check(claims)
    change(factory, jti, "restore")
    registry.reload()
    registry.check(claims)
    change(factory, jti, "delete")
    registry.reload()
    with pytest.raises(InvalidToken, match="deleted"):
        registry.check(claims)
    assert registry.state(jti) == TokenState(user_id, revoked=False, deleted=True)


def test_a_token_missing_from_the_snapshot_is_refused_unless_newer_than_it(
    factory: sessionmaker[Session], user_id: int
) -> None:
    clock = Clock()
    registry = TokenRegistry(factory, 5, clock=clock)
    registry.reload()
    # Created (in another process) after the snapshot: the snapshot cannot know it yet.
    jti, claims = new_token(factory, user_id, "fresh")
    registry.check(claims)
    # Signed well before the snapshot yet absent from it: deleted (or never stored).
    old = datetime.fromtimestamp(clock.now - NEW_TOKEN_GRACE_SECONDS - 5, UTC)
    forged = TokenClaims(user_id, Role.MEMBER, service.new_jti(old), "personal", None)
    with pytest.raises(InvalidToken, match="deleted"):
        registry.check(forged)
    # Someone else's jti in a token for this user.
    registry.reload()
    stolen = TokenClaims(user_id + 1, Role.MEMBER, jti, "personal", None)
    with pytest.raises(InvalidToken):
        registry.check(stolen)


def test_a_young_token_deleted_elsewhere_is_refused_after_the_next_reload(
    factory: sessionmaker[Session], user_id: int
) -> None:
    registry = TokenRegistry(factory, 5)
    registry.reload()
    jti, claims = new_token(factory, user_id, "short-lived")
    change(factory, jti, "delete")
    registry.check(claims)  # still within the bound: no reload since
    registry.reload()
    # The tombstone tells the snapshot, however young the token.
    with pytest.raises(InvalidToken, match="deleted"):
        registry.check(claims)


def test_this_processs_changes_apply_at_once_and_survive_an_older_reload(
    factory: sessionmaker[Session], user_id: int
) -> None:
    clock = Clock()
    jti, claims = new_token(factory, user_id, "ci")
    registry = TokenRegistry(factory, 5, clock=clock)
    registry.reload()
    change(factory, jti, "revoke")
    registry.apply(jti, TokenState(user_id, revoked=True))
    with pytest.raises(InvalidToken, match="revoked"):
        registry.check(claims)
    # A reload that started before the change was applied must not undo it.
    clock.now -= 1
    registry.reload()
    with pytest.raises(InvalidToken, match="revoked"):
        registry.check(claims)
    clock.now += 2
    change(factory, jti, "restore")
    registry.reload()
    registry.check(claims)


def test_the_last_snapshot_stays_in_force_while_the_database_is_down(
    factory: sessionmaker[Session], user_id: int
) -> None:
    revoked_jti, revoked = new_token(factory, user_id, "revoked")
    deleted_jti, deleted = new_token(factory, user_id, "deleted")
    _, live = new_token(factory, user_id, "live")
    change(factory, revoked_jti, "revoke")
    change(factory, deleted_jti, "delete")
    calls = {"n": 0}

    def flaky() -> Session:
        calls["n"] += 1
        if calls["n"] > 1:
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return factory()

    registry = TokenRegistry(flaky, 5)  # type: ignore[arg-type]
    registry.reload()
    with pytest.raises(OperationalError):
        registry.reload()
    registry.check(live)
    with pytest.raises(InvalidToken, match="revoked"):
        registry.check(revoked)
    with pytest.raises(InvalidToken, match="deleted"):
        registry.check(deleted)


def test_tombstones_are_purged_after_a_day(factory: sessionmaker[Session], user_id: int) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    old_jti, old_claims = new_token(factory, user_id, "old", now=long_ago)
    with factory.begin() as session:
        row = session.scalars(select(UserToken).where(UserToken.jti == old_jti)).one()
        service.delete_token(session, row, now=long_ago + timedelta(hours=1))
    fresh_jti, _ = new_token(factory, user_id, "fresh")
    change(factory, fresh_jti, "delete")  # purges tombstones older than a day
    registry = TokenRegistry(factory, 5)
    registry.reload()
    assert registry.state(old_jti) is None
    assert registry.state(fresh_jti) is not None
    with pytest.raises(InvalidToken, match="deleted"):
        registry.check(old_claims)
