"""Faults-suite fixtures: the secret ledger, a RabbitMQ account, fresh databases, figures."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.faults.ledger import SecretLedger
from tests.faults.live import LivePlatform, secret_env, secret_value
from tests.services import OWN_VHOST, POSTGRES_ADMIN_URL, RABBITMQ_URL, rabbitmqctl

HERE = Path(__file__).resolve().parent
FIGURES = pytest.StashKey[list[tuple[str, str, str]]]()
LEDGER = pytest.StashKey[SecretLedger]()
# Its test looks through every answer and log of the run, so it runs last.
SWEEP_MODULE = "test_secrets.py"

Figures = Callable[[str, str, str], None]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES] = []
    config.stash[LEDGER] = SecretLedger()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here `faults`; the sweep for secrets runs after everything else."""
    ours = [item for item in items if HERE in Path(str(item.path)).parents]
    for item in ours:
        item.add_marker(pytest.mark.faults)
    last = [item for item in ours if Path(str(item.path)).name == SWEEP_MODULE]
    for item in last:
        items.remove(item)
        items.append(item)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    figures = terminalreporter.config.stash.get(FIGURES, [])
    if figures:
        terminalreporter.section("faults: measured figures")
        for fault, measure, value in figures:
            terminalreporter.write_line(f"{fault:<52} {measure:<36} {value}")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """Record a measured figure; the terminal summary lists them all at the end."""

    def record(fault: str, measure: str, value: str) -> None:
        request.config.stash[FIGURES].append((fault, measure, value))

    return record


@pytest.fixture(scope="session")
def ledger(pytestconfig: pytest.Config) -> SecretLedger:
    return pytestconfig.stash[LEDGER]


@pytest.fixture(scope="session")
def rabbitmq_credentials(ledger: SecretLedger) -> Iterator[tuple[str, str]]:
    """A RabbitMQ user of our own with a long random password, allowed on the session vhost,
    so that the sweep can look for a broker password nobody would write by chance."""
    upstream = httpx.URL(RABBITMQ_URL.replace("amqp://", "http://"))
    if not OWN_VHOST:
        yield upstream.username, upstream.password  # a broker given as is: its own account
        return
    username = f"dqp-faults-{uuid.uuid4().hex[:8]}"
    password = secret_value(ledger, "RabbitMQ password")
    vhost = upstream.path.lstrip("/")
    rabbitmqctl("add_user", username, password)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, username, ".*", ".*", ".*")
        yield username, password
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            rabbitmqctl("delete_user", username)


def rabbitmq_url(credentials: tuple[str, str], port: int | None = None) -> str:
    """The session vhost's URL with our account, on RabbitMQ's port or a proxy's."""
    upstream = httpx.URL(RABBITMQ_URL.replace("amqp://", "http://"))
    username, password = credentials
    return f"amqp://{username}:{password}@127.0.0.1:{port or upstream.port or 5672}{upstream.path}"


@contextlib.contextmanager
def fresh_postgres(ledger: SecretLedger) -> Iterator[Callable[[int | None], str]]:
    """A new, empty PostgreSQL database, dropped afterwards. Yields a function that gives its
    URL on PostgreSQL's port or a proxy's, with a password (trust auth ignores it; the sweep
    looks for it)."""
    name = f"dqp_faults_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    password = secret_value(ledger, f"PostgreSQL password ({name})")
    base = make_url(POSTGRES_ADMIN_URL).set(database=name, password=password)

    def url(port: int | None = None) -> str:
        chosen = base if port is None else base.set(host="127.0.0.1", port=port)
        return chosen.render_as_string(hide_password=False)

    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def attack_server(
    tmp_path_factory: pytest.TempPathFactory, ledger: SecretLedger
) -> Iterator[LivePlatform]:
    """`dqp controlplane` alone, on PostgreSQL and the embedded broker: for the attacks and
    the bad input, which need no dataplane. Its admin's token is `token`."""
    root = tmp_path_factory.mktemp("attack")
    with fresh_postgres(ledger) as database_url:
        platform = LivePlatform(
            data_dir=root / "data",
            broker_url=None,
            extra_env={**secret_env(ledger), "DQP_DATABASE_URL": database_url(None)},
            ledger=ledger,
        )
        try:
            platform.data_dir.mkdir(parents=True)
            platform.start("controlplane", "controlplane")
            platform.wait_api()
            platform.token = platform.add_user("attack-admin", "admin")
            yield platform
        finally:
            platform.close()
