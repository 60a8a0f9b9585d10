"""Limiting failed sign-ins per username and per client address (in memory, per process)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request

from dqplatform.controlplane.errors import PlatformError

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_SECONDS = 300.0
# Bounds the memory a flood of made-up usernames can take; the oldest keys go first.
MAX_KEYS = 50_000


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
    at: float


class LoginThrottle:
    """Sliding windows of failures. An attempt counts as a failure from the moment it starts,
    so concurrent guesses cannot slip past the limit; a success takes it back."""

    def __init__(
        self,
        per_user: int = MAX_FAILURES_PER_USER,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ):
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, username: str, address: str) -> Attempt:
        """Start an attempt, or raise TooManyAttempts (with Retry-After) while limited."""
        # Case-folded so "Alice" and "alice" share one budget.
        attempt = Attempt(f"user:{username.casefold()}", f"addr:{address}", self._clock())
        with self._lock:
            waits = [
                self._wait(attempt.user_key, self.per_user, attempt.at),
                self._wait(attempt.address_key, self.per_address, attempt.at),
            ]
            if max(waits) > 0:
                raise TooManyAttempts(max(waits))
            for key in (attempt.user_key, attempt.address_key):
                self._entries(key).append(attempt.at)
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """A right password clears the user's failures; the address keeps its other ones, so
        signing in to one account does not buy more guesses at others."""
        with self._lock:
            self._failures.pop(attempt.user_key, None)
            self._discard(attempt.address_key, attempt.at)

    def cancel(self, attempt: Attempt) -> None:
        """Take back an attempt that could not be decided (the database was down, say)."""
        with self._lock:
            self._discard(attempt.user_key, attempt.at)
            self._discard(attempt.address_key, attempt.at)

    def _discard(self, key: str, at: float) -> None:
        entries = self._failures.get(key)
        if entries is not None and at in entries:
            entries.remove(at)

    def _wait(self, key: str, limit: int, now: float) -> float:
        """Seconds until `key` is under its limit again (0 if it is)."""
        entries = self._failures.get(key)
        if entries is None:
            return 0.0
        while entries and entries[0] <= now - self.window:
            entries.popleft()
        if not entries:
            del self._failures[key]
            return 0.0
        if len(entries) < limit:
            return 0.0
        return entries[len(entries) - limit] + self.window - now

    def _entries(self, key: str) -> deque[float]:
        entries = self._failures.get(key)
        if entries is None:
            if len(self._failures) >= self._max_keys:
                self._failures.pop(next(iter(self._failures)))
            entries = self._failures[key] = deque()
        return entries


_create_lock = threading.Lock()


def login_throttle(app: FastAPI) -> LoginThrottle:
    """The application's throttle, shared by every sign-in form and endpoint."""
    with _create_lock:  # sign-in endpoints run in worker threads
        throttle: LoginThrottle | None = getattr(app.state, "login_throttle", None)
        if throttle is None:
            throttle = app.state.login_throttle = LoginThrottle()
    return throttle


def client_address(request: Request) -> str:
    # Behind a proxy this is the proxy's address unless uvicorn is told to trust
    # X-Forwarded-For (--forwarded-allow-ips).
    return request.client.host if request.client else "unknown"
