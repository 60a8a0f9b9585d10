"""A controlplane per test module and database backend, shared by the auth API suites.

Starting a controlplane takes about a second, so the suites for tokens, users, sign-in and
browser sign-in share one per module and backend; each test makes its own uniquely named
users, so tests do not see each other's state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth import passwords
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.state import AppState, app_state
from dqplatform.controlplane.users import service
from dqplatform.settings import Settings
from tests.helpers import PASSWORD
from tests.services import postgres_database

# Cheaper argon2 parameters keep the suites fast; hashing and verifying work the same way.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    role: Role
    token: str  # a session token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """A running controlplane and a way to make users in it."""

    def __init__(self, client: TestClient, settings: Settings):
        self.client = client
        self.settings = settings

    @property
    def state(self) -> AppState:
        return app_state(self.client.app)  # type: ignore[arg-type]

    def account(self, role: Role = Role.MEMBER, prefix: str = "user") -> Account:
        username = f"{prefix}-{uuid.uuid4().hex[:8]}"
        with self.state.session_factory.begin() as session:
            user_id = service.create_user(session, username, PASSWORD, role).id
        self.state.users.reload()
        token = issue_session_token(self.settings.signing_secret, user_id, role, 600)
        return Account(user_id, username, role, token)


def _settings(data_dir: Path, url: str, overrides: dict[str, object]) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": url,
        "broker_url": "memory://",
        # The API suites name made-up paths anywhere (/data/landing, /x); the confinement to
        # roots has tests of its own (test_files_roots.py).
        "files_roots": (Path("/"),),
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


@contextmanager
def settings_on(backend: str, data_dir: Path, **overrides: object) -> Iterator[Settings]:
    """Settings on an empty database of `backend`, dropped afterwards for PostgreSQL."""
    if backend == "sqlite":
        yield _settings(data_dir, f"sqlite:///{data_dir / 'test.db'}", overrides)
        return
    with postgres_database() as url:
        yield _settings(data_dir, url, overrides)


@pytest.fixture(scope="module", autouse=True)
def fast_passwords() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", FAST_HASHER)
        service._dummy_hash.cache_clear()
        yield
    service._dummy_hash.cache_clear()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def api(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with (
        settings_on(backend, tmp_path_factory.mktemp("data")) as settings,
        TestClient(create_app(settings)) as client,
    ):
        yield Api(client, settings)
