"""Fixtures shared by every suite: settings in a temporary data dir, databases, an API client."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dqplatform.settings import Settings

warnings.filterwarnings("ignore", message=".*httpx2.*")

# The machine's PostgreSQL (trust auth). Tests create and drop a database of their own in it.
POSTGRES_ADMIN_URL = os.environ.get(
    "DQP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Each test session gets a RabbitMQ virtual host of its own, so that its fixed queue names
# (the dataplane's exclusive control queue above all) never meet those of a platform or
# another test run on the same broker. DQP_TEST_RABBITMQ_URL names a broker to use as is.
_TEST_VHOST = f"dqp-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
_OWN_VHOST = "DQP_TEST_RABBITMQ_URL" not in os.environ and shutil.which("rabbitmqctl") is not None
RABBITMQ_URL = os.environ.get(
    "DQP_TEST_RABBITMQ_URL",
    f"amqp://guest:guest@127.0.0.1:5672/{_TEST_VHOST}"
    if _OWN_VHOST
    else "amqp://guest:guest@127.0.0.1:5672//",
)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def pytest_sessionstart(session: pytest.Session) -> None:
    if _OWN_VHOST:
        _rabbitmqctl("add_vhost", _TEST_VHOST)
        _rabbitmqctl("set_permissions", "-p", _TEST_VHOST, "guest", ".*", ".*", ".*")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _OWN_VHOST:
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_vhost", _TEST_VHOST],
            capture_output=True,
            timeout=60,
            check=False,
        )


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings isolated in a temporary data dir, with any field overridden."""

    def factory(**overrides: object) -> Settings:
        values: dict[str, object] = {"data_dir": tmp_path / "data"}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"dqp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database backend we support, in turn: an empty SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))
