"""Fixtures shared by every suite: settings in a temporary data dir, a PostgreSQL database
of its own per test, the database URLs to run a test on, and the session's RabbitMQ vhost."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dqplatform.settings import Settings
from tests.services import OWN_VHOST, TEST_VHOST, postgres_database, rabbitmqctl

warnings.filterwarnings("ignore", message=".*httpx2.*")


def pytest_sessionstart(session: pytest.Session) -> None:
    if OWN_VHOST:
        rabbitmqctl("add_vhost", TEST_VHOST)
        rabbitmqctl("set_permissions", "-p", TEST_VHOST, "guest", ".*", ".*", ".*")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if OWN_VHOST:
        rabbitmqctl("delete_vhost", TEST_VHOST, check=False)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings isolated in a temporary data dir, with any field overridden."""

    def factory(**overrides: object) -> Settings:
        # File datastores in the suites live in the test's temporary folder.
        values: dict[str, object] = {"data_dir": tmp_path / "data", "files_roots": (tmp_path,)}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database backend we support, in turn: an empty SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))
