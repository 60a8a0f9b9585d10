"""Where the suites find the machine's services: PostgreSQL, and this test session's own
RabbitMQ virtual host (made at session start by tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The machine's PostgreSQL (trust auth). Tests create and drop a database of their own in it.
POSTGRES_ADMIN_URL = os.environ.get(
    "DQP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Each test session gets a RabbitMQ virtual host of its own, so that its fixed queue names
# (the dataplane's exclusive control queue above all) never meet those of a platform or
# another test run on the same broker. DQP_TEST_RABBITMQ_URL names a broker to use as is.
TEST_VHOST = f"dqp-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
OWN_VHOST = "DQP_TEST_RABBITMQ_URL" not in os.environ and shutil.which("rabbitmqctl") is not None
RABBITMQ_URL = os.environ.get(
    "DQP_TEST_RABBITMQ_URL",
    f"amqp://guest:guest@127.0.0.1:5672/{TEST_VHOST}"
    if OWN_VHOST
    else "amqp://guest:guest@127.0.0.1:5672//",
)


def rabbitmqctl(*args: str, check: bool = True) -> None:
    """Run `rabbitmqctl -q args` (bounded: a broker that hangs fails the call, not the run)."""
    subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, timeout=60)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database of the machine's server, dropped afterwards (its
    connections closed first): yields its URL."""
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
