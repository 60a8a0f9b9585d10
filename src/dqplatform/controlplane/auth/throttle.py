"""Limiting failed sign-ins per username and per client address, for the whole platform.

The counts live in the database (table `login_failures`), so every worker process and every
controlplane on that database shares one budget: with counts in memory, DQP_WORKERS=n or n
controlplanes allowed n times the guesses.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from fastapi import FastAPI, Request
from sqlalchemy import Connection, Engine, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from dqplatform.controlplane.auth.models import LoginFailures
from dqplatform.controlplane.errors import PlatformError
from dqplatform.controlplane.state import app_state

logger = logging.getLogger(__name__)

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_SECONDS = 300.0
# How often a throttle deletes the rows whose window has passed, and how many at a time.
SWEEP_INTERVAL_SECONDS = 60.0
SWEEP_BATCH = 1000

_table = cast(Table, LoginFailures.__table__)
Entry = tuple[str, float]  # (attempt id, Unix time)


class TooManyAttempts(PlatformError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: float):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many failed sign-ins: try again in {self.retry_after} s")

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


@dataclass(frozen=True, slots=True)
class Attempt:
    user_key: str
    address_key: str
    id: str
    at: float


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _datetime(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


class LoginThrottle:
    """Sliding windows of failures. An attempt counts as a failure from the moment it starts,
    so concurrent guesses cannot slip past the limit; a success takes it back.

    Each change is one short transaction of its own (never the request's: a failed sign-in
    rolls the request back, and its count must stay). It first locks the rows of the keys it
    touches with an upsert (a row lock on PostgreSQL, the database's write lock on SQLite),
    always the address's before the user's, so two transactions never wait for each other
    in a circle. Reading and writing the counts is then one step for every process.
    """

    def __init__(
        self,
        engine: Engine,
        per_user: int = MAX_FAILURES_PER_USER,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,  # wall time: processes on several hosts share it
    ):
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self._engine = engine
        self._clock = clock
        self._next_sweep = clock() + SWEEP_INTERVAL_SECONDS

    def acquire(self, username: str, address: str) -> Attempt:
        """Start an attempt, or raise TooManyAttempts (with Retry-After) while limited."""
        # Case-folded so "Alice" and "alice" share one budget.
        now = self._clock()
        attempt = Attempt(
            _key("user", username.casefold()), _key("addr", address), secrets.token_hex(8), now
        )
        with self._engine.begin() as connection:
            by_address = self._live(_lock(connection, attempt.address_key, now), now)
            by_user = self._live(_lock(connection, attempt.user_key, now), now)
            wait = max(
                self._wait(by_user, self.per_user, now),
                self._wait(by_address, self.per_address, now),
            )
            if wait > 0:
                raise TooManyAttempts(wait)  # leaves the counts as they were
            entry = (attempt.id, now)
            self._write(connection, attempt.address_key, [*by_address, entry])
            self._write(connection, attempt.user_key, [*by_user, entry])
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL_SECONDS
            self.sweep()
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """A right password clears the user's failures; the address keeps its other ones, so
        signing in to one account does not buy more guesses at others."""
        now = self._clock()
        with self._engine.begin() as connection:
            self._discard(connection, attempt.address_key, attempt.id, now)
            connection.execute(delete(_table).where(_table.c.key == attempt.user_key))

    def cancel(self, attempt: Attempt) -> None:
        """Take back an attempt that could not be decided (the database was down, say)."""
        now = self._clock()
        with self._engine.begin() as connection:
            self._discard(connection, attempt.address_key, attempt.id, now)
            self._discard(connection, attempt.user_key, attempt.id, now)

    def sweep(self) -> int:
        """Delete the rows whose window has passed; the number deleted. Rows another
        transaction holds are left for the next sweep instead of waited for."""
        expired = (
            select(_table.c.key)
            .where(_table.c.expires_at < _datetime(self._clock()))
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has no row locks
        )
        try:
            with self._engine.begin() as connection:
                result = connection.execute(delete(_table).where(_table.c.key.in_(expired)))
        except SQLAlchemyError as exc:
            # Only housekeeping: the counts stay right without it (old entries are ignored).
            logger.warning("could not sweep expired sign-in failures: %s", type(exc).__name__)
            return 0
        return result.rowcount

    def _live(self, entries: list[Entry], now: float) -> list[Entry]:
        return sorted((e for e in entries if e[1] > now - self.window), key=lambda e: e[1])

    def _wait(self, entries: list[Entry], limit: int, now: float) -> float:
        """Seconds until a key with these (live, ordered) failures is under `limit` again."""
        if len(entries) < limit:
            return 0.0
        return entries[len(entries) - limit][1] + self.window - now

    def _discard(self, connection: Connection, key: str, attempt_id: str, now: float) -> None:
        entries = self._live(_lock(connection, key, now), now)
        self._write(connection, key, [entry for entry in entries if entry[0] != attempt_id])

    def _write(self, connection: Connection, key: str, entries: list[Entry]) -> None:
        newest = max((at for _, at in entries), default=0.0)
        connection.execute(
            update(_table)
            .where(_table.c.key == key)
            .values(
                attempts=[list(entry) for entry in entries],
                expires_at=_datetime(newest + self.window),
            )
        )


def _lock(connection: Connection, key: str, now: float) -> list[Entry]:
    """The key's stored failures, its row created if missing and locked until the
    transaction ends (an upsert that changes nothing still takes the lock)."""
    values = {"key": key, "attempts": [], "expires_at": _datetime(now)}
    keep = {"expires_at": _table.c.expires_at}
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    upsert = (
        insert(_table)
        .values(values)
        .on_conflict_do_update(index_elements=[_table.c.key], set_=keep)
        .returning(_table.c.attempts)
    )
    stored = connection.execute(upsert).scalar_one()
    return [(str(attempt_id), float(at)) for attempt_id, at in stored]


def login_throttle(app: FastAPI) -> LoginThrottle:
    """The application's throttle (made by the lifespan), shared by every sign-in form and
    endpoint."""
    return app_state(app).login_throttle


def client_address(request: Request) -> str:
    # Behind a proxy this is the proxy's address unless uvicorn is told to trust
    # X-Forwarded-For (--forwarded-allow-ips).
    return request.client.host if request.client else "unknown"
