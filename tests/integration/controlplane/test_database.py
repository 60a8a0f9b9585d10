"""The database on SQLite and PostgreSQL: migrations, the users service and the `dqp` admin
commands end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth import passwords
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.db.migrate import alembic_config, upgrade_database
from dqplatform.controlplane.db.models import Base
from dqplatform.controlplane.errors import Conflict, PlatformError
from dqplatform.controlplane.users import service
from dqplatform.controlplane.users.models import User
from dqplatform.settings import Settings
from tests.conftest import SettingsFactory
from tests.helpers import PASSWORD, bearer

pytestmark = pytest.mark.integration

JWT_PATTERN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


def _applied_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _heads() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


# ---- migrations ------------------------------------------------------------------------


def test_migrations_build_the_models_schema_on_an_empty_database(engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []
    upgrade_database(engine)
    assert _applied_revisions(engine) == _heads()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    # What the migrations build is what the models describe: nothing left to autogenerate.
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_migrations_are_idempotent_and_keep_data(engine: Engine) -> None:
    upgrade_database(engine)
    with Session(engine) as session, session.begin():
        service.create_user(session, "ada", PASSWORD, Role.ADMIN)
    upgrade_database(engine)
    upgrade_database(engine)
    assert _applied_revisions(engine) == _heads()
    with Session(engine) as session:
        assert [u.username for u in service.list_users(session)] == ["ada"]


def test_concurrent_upgrades_on_postgresql_do_not_fail(
    make_settings: SettingsFactory, postgres_url: str
) -> None:
    # Controlplane workers starting together: the advisory lock lets one migrate at a time.
    settings = make_settings(database_url=postgres_url)
    engines = [create_db_engine(settings) for _ in range(4)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def upgrade(engine: Engine) -> None:
        try:
            start.wait(timeout=10)
            upgrade_database(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert not errors, errors
        assert _applied_revisions(engines[0]) == _heads()
    finally:
        for engine in engines:
            engine.dispose()


# ---- the users service -------------------------------------------------------------------


@pytest.fixture
def migrated(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    # Cheap argon2 parameters: hashing works the same, the suite stays fast. (The `dqp`
    # subprocesses below keep the real ones.)
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    upgrade_database(engine)
    return engine


def test_users_create_read_update_delete(migrated: Engine) -> None:
    with Session(migrated) as session, session.begin():
        ada = service.create_user(session, "ada", PASSWORD, Role.ADMIN)
        bob = service.create_user(session, "bob", PASSWORD, Role.MEMBER)
        ada_id, bob_id = ada.id, bob.id
    assert ada_id != bob_id

    with Session(migrated) as session, session.begin():
        stored = service.require_by_username(session, "bob")
        assert (stored.id, stored.role_enum) == (bob_id, Role.MEMBER)
        # Only an argon2 hash is stored.
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in (
            stored.password_hash
        )
        assert [u.username for u in service.list_users(session)] == ["ada", "bob"]
        assert [u.username for u in service.list_users(session, offset=1, limit=1)] == ["bob"]
        assert service.count_users(session) == 2
        service.set_role(session, stored, Role.MANAGER)

    with Session(migrated) as session, session.begin():
        assert service.require_user(session, bob_id).role_enum == Role.MANAGER
        assert service.authenticate(session, "bob", PASSWORD) is not None
        assert service.authenticate(session, "bob", PASSWORD + "!") is None
        assert service.authenticate(session, "nobody", PASSWORD) is None
        service.remove_user(session, service.require_user(session, bob_id))

    with Session(migrated) as session:
        assert service.get_user(session, bob_id) is None
        assert service.get_by_username(session, "bob") is None
        assert service.count_users(session) == 1


def test_created_at_is_utc(migrated: Engine) -> None:
    with Session(migrated) as session, session.begin():
        user_id = service.create_user(session, "ada", PASSWORD, Role.ADMIN).id
    with Session(migrated) as session:
        created = service.require_user(session, user_id).created_at
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0


def test_bad_users_are_refused(migrated: Engine) -> None:
    with Session(migrated) as session, session.begin():
        service.create_user(session, "ada", PASSWORD, Role.ADMIN)
    with Session(migrated) as session, session.begin():
        with pytest.raises(Conflict, match="already exists"):
            service.create_user(session, "ada", PASSWORD, Role.MEMBER)
        for bad_name in ("", "-dash-first", "with space", "x" * 65, "semi;colon"):
            with pytest.raises(PlatformError, match="username must be") as error:
                service.create_user(session, bad_name, PASSWORD, Role.MEMBER)
            assert error.value.status_code == 422
        with pytest.raises(PlatformError, match="at least 8 characters"):
            service.create_user(session, "bob", "short", Role.MEMBER)


def test_the_database_itself_refuses_a_duplicate_username(migrated: Engine) -> None:
    # Two requests that both pass the service's check must still not make two users.
    with Session(migrated) as session, session.begin():
        service.create_user(session, "ada", PASSWORD, Role.ADMIN)
    with Session(migrated) as session, pytest.raises(IntegrityError):
        session.add(User(username="ada", password_hash="x", role="member"))
        session.flush()
    with Session(migrated) as session:
        assert session.scalar(select(User.username).where(User.username == "ada")) == "ada"


# ---- the `dqp` admin commands, as subprocesses ------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


class Dqp:
    """Runs `dqp` against one data dir and database, several commands at once if asked."""

    def __init__(self, settings: Settings):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DQP_")}
        self.env["DQP_DATA_DIR"] = str(settings.data_dir)
        self.env["DQP_DATABASE_URL"] = settings.resolved_database_url
        script = Path(sys.executable).with_name("dqp")
        self.command = (
            [str(script)] if script.exists() else [sys.executable, "-m", "dqplatform.cli.main"]
        )

    def many(self, *calls: tuple[Sequence[str], str | None]) -> list[Run]:
        """Start every (args, stdin) call, then wait for all: each start costs about a second."""
        processes = [
            (
                subprocess.Popen(
                    [*self.command, *args],
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
                stdin,
            )
            for args, stdin in calls
        ]
        runs = []
        for process, stdin in processes:
            stdout, stderr = process.communicate(stdin, timeout=120)
            runs.append(Run(process.returncode, stdout, stderr))
        return runs

    def __call__(self, *args: str, stdin: str | None = None) -> Run:
        return self.many((args, stdin))[0]


def _ok(run: Run) -> Run:
    assert run.returncode == 0, run.stderr
    return run


def _failed(run: Run, message: str) -> None:
    assert run.returncode != 0
    assert run.stdout == ""
    assert run.stderr.splitlines() == [f"dqp: {message}"]


def test_dqp_user_and_token_commands_end_to_end(settings: Settings) -> None:
    dqp = Dqp(settings)
    created = _ok(
        dqp("user", "add", "ada", "--role", "admin", "--password-stdin", stdin=f"{PASSWORD}\n")
    )
    assert "created user ada" in created.stdout and PASSWORD not in created.stdout + created.stderr

    bob, duplicate, set_unknown, token_unknown, token, short_token = dqp.many(
        (["user", "add", "bob", "--password-stdin"], f"{PASSWORD}\n"),
        (["user", "add", "ada", "--role", "member", "--password-stdin"], f"{PASSWORD}\n"),
        (["user", "set-role", "nobody", "admin"], None),
        (["token", "issue", "nobody"], None),
        (["token", "issue", "ada"], None),
        (["token", "issue", "ada", "--ttl", "120"], None),
    )
    _ok(bob)
    _failed(duplicate, "a user named 'ada' already exists")
    _failed(set_unknown, "no user named 'nobody'")
    _failed(token_unknown, "no user named 'nobody'")

    # `dqp token issue` prints the token and nothing else.
    for run, ttl in ((token, settings.jwt_ttl_seconds), (short_token, 120)):
        _ok(run)
        assert run.stderr == ""
        assert run.stdout.endswith("\n") and run.stdout.count("\n") == 1
        value = run.stdout.strip()
        assert JWT_PATTERN.fullmatch(value)
        assert jwt.get_unverified_header(value)["alg"] == "HS256"
        # Verified with the secret the data dir holds, as the controlplane will.
        claims = jwt.decode(value, settings.signing_secret, algorithms=["HS256"])
        assert set(claims) == {"sub", "role", "iat", "exp", "jti", "typ"}
        assert claims["role"] == "admin" and claims["typ"] == "session"
        assert claims["exp"] - claims["iat"] == ttl
    assert (
        jwt.decode(token.stdout.strip(), options={"verify_signature": False})["jti"]
        != (jwt.decode(short_token.stdout.strip(), options={"verify_signature": False})["jti"])
    )

    _ok(dqp("user", "set-role", "bob", "manager"))
    listed = json.loads(_ok(dqp("user", "list", "--json")).stdout)
    assert [(u["username"], u["role"]) for u in listed] == [("ada", "admin"), ("bob", "manager")]
    assert all(set(u) == {"id", "username", "role", "created_at"} for u in listed)
    _ok(dqp("user", "remove", "bob"))

    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            assert [u.username for u in service.list_users(session)] == ["ada"]
            # --password-stdin took the line without its newline.
            assert service.authenticate(session, "ada", PASSWORD) is not None
    finally:
        engine.dispose()

    # The issued token opens GET /api on a controlplane over the same data dir and database.
    ada_token = token.stdout.strip()
    with TestClient(create_app(settings)) as client:
        response = client.get("/api", headers=bearer(ada_token))
        assert response.status_code == 200, response.text
        assert response.json()["jwt_ttl_seconds"] == settings.jwt_ttl_seconds
