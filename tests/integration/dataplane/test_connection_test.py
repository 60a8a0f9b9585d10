"""Connection tests against the machine's real PostgreSQL and MariaDB."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pymysql
import pytest
from pydantic import SecretStr

from dqplatform.dataplane.connection_test import try_connection
from dqplatform.messaging.schemas import ConnectionTestRequest, Request

pytestmark = pytest.mark.integration

MARIADB_USER = "dqp_conn_test"
MARIADB_PASSWORD = "s3cret-Conn-Test-pw"


def _request(**fields: object) -> ConnectionTestRequest:
    values: dict[str, object] = {"expires_at": Request.expiry(10), "timeout_seconds": 3}
    values.update(fields)
    return ConnectionTestRequest(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def mariadb_user() -> Iterator[str]:
    admin = pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", connect_timeout=5
    )
    with admin.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{MARIADB_USER}'@'%'")
        cursor.execute(f"CREATE USER '{MARIADB_USER}'@'%' IDENTIFIED BY '{MARIADB_PASSWORD}'")
    try:
        yield MARIADB_USER
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{MARIADB_USER}'@'%'")
        admin.close()


def test_postgresql_that_works_and_a_database_that_does_not_exist() -> None:
    ok, message, latency = try_connection(
        _request(
            type="postgresql", host="127.0.0.1", port=5432, database="postgres", username="postgres"
        )
    )
    assert ok, message
    assert latency > 0
    ok, message, _ = try_connection(
        _request(
            type="postgresql",
            host="127.0.0.1",
            port=5432,
            database="no_such_db_here",
            username="postgres",
        )
    )
    assert not ok
    assert "no_such_db_here" in message and "does not exist" in message


def test_mariadb_right_and_wrong_password(mariadb_user: str) -> None:
    ok, message, _ = try_connection(
        _request(
            type="mariadb",
            host="127.0.0.1",
            port=3306,
            username=mariadb_user,
            password=SecretStr(MARIADB_PASSWORD),
        )
    )
    assert ok, message
    wrong = "Wrong-Pass-" + MARIADB_PASSWORD
    ok, message, _ = try_connection(
        _request(
            type="mysql",
            host="127.0.0.1",
            port=3306,
            username=mariadb_user,
            password=SecretStr(wrong),
        )
    )
    assert not ok
    assert "Access denied" in message
    assert wrong not in message and MARIADB_PASSWORD not in message


def test_a_closed_port_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    ok, message, _ = try_connection(
        _request(type="postgresql", host="127.0.0.1", port=port, username="postgres")
    )
    assert not ok
    assert "refused" in message.lower()
    assert time.monotonic() - started < 3


def test_the_password_travels_on_the_wire_but_never_in_repr() -> None:
    request = _request(type="mysql", host="h", port=1, password=SecretStr("hunter2-secret"))
    assert "hunter2-secret" not in repr(request)
    assert request.model_dump(mode="json")["password"] == "hunter2-secret"
