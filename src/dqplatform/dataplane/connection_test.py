"""Testing a datastore connection for real: connect with the given credentials, run SELECT 1."""

from __future__ import annotations

import time
from typing import Any

from dqplatform.messaging.schemas import ConnectionTestRequest

POSTGRES_TYPES = {"postgresql", "postgres"}
MYSQL_TYPES = {"mysql", "mariadb"}


def _connect_postgresql(request: ConnectionTestRequest, password: str | None) -> Any:
    import psycopg

    return psycopg.connect(
        host=request.host,
        port=request.port,
        dbname=request.database or "postgres",
        user=request.username,
        password=password,
        connect_timeout=max(1, int(request.timeout_seconds)),
        options=f"-c statement_timeout={int(request.timeout_seconds * 1000)}",
    )


def _connect_mysql(request: ConnectionTestRequest, password: str | None) -> Any:
    import pymysql

    return pymysql.connect(
        host=request.host,
        port=request.port,
        database=request.database or None,
        user=request.username,
        password=password or "",
        connect_timeout=request.timeout_seconds,
        read_timeout=request.timeout_seconds,
        write_timeout=request.timeout_seconds,
    )


def _scrub(text: str, secret: str | None) -> str:
    text = " ".join(text.split())
    return text.replace(secret, "********") if secret else text


def try_connection(request: ConnectionTestRequest) -> tuple[bool, str, float]:
    """(worked, message, latency in ms); the message never contains the password."""
    password = request.password.get_secret_value() if request.password else None
    kind = request.type.lower()
    started = time.monotonic()
    try:
        if kind in POSTGRES_TYPES:
            connection = _connect_postgresql(request, password)
        elif kind in MYSQL_TYPES:
            connection = _connect_mysql(request, password)
        else:
            return False, f"connection type {request.type!r} cannot be tested", 0.0
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()
    except Exception as exc:
        elapsed = round((time.monotonic() - started) * 1000, 2)
        return False, _scrub(f"{type(exc).__name__}: {exc}", password), elapsed
    elapsed = round((time.monotonic() - started) * 1000, 2)
    return True, "Connection succeeded", elapsed
