"""An in-memory snapshot of personal tokens, so a revoked or deleted one is refused at once.

Like the user directory, the snapshot is reloaded every `auth_cache_seconds` and kept when
the database is down. A change made through this process's API applies here as soon as it
is committed; every other process sees it on its next reload. A token missing from the
snapshot is refused, unless it was created so shortly before the snapshot was taken (its
UUIDv7 jti carries the time) that the snapshot may simply not have seen it yet.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.auth.tokens import InvalidToken, TokenClaims
from dqplatform.controlplane.tokens.models import UserToken
from dqplatform.controlplane.tokens.service import PERSONAL, jti_created_at

logger = logging.getLogger(__name__)

# How long before a snapshot a token may have been signed and still be missing from it:
# signing happens before the insert commits, and clocks of several hosts differ a little.
NEW_TOKEN_GRACE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class TokenState:
    user_id: int
    revoked: bool = False
    deleted: bool = False


class TokenRegistry:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        refresh_seconds: float,
        clock: Callable[[], float] = time.time,
    ):
        self._session_factory = session_factory
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, TokenState] | None = None
        # Changes committed by this process, kept until a reload started after them.
        self._applied: dict[str, tuple[TokenState, float]] = {}
        self.snapshot_started_at: float | None = None

    @property
    def loaded(self) -> bool:
        return self._tokens is not None

    def state(self, jti: str) -> TokenState | None:
        with self._lock:
            applied = self._applied.get(jti)
            if applied is not None:
                return applied[0]
            return None if self._tokens is None else self._tokens.get(jti)

    def apply(self, jti: str, state: TokenState) -> None:
        """Record a change this process has just committed."""
        with self._lock:
            self._applied[jti] = (state, self._clock())

    def reload(self) -> None:
        """Load every token's state (blocking); keeps the old snapshot if the database fails."""
        started = self._clock()
        with self._session_factory() as session:
            rows = session.execute(
                select(UserToken.jti, UserToken.user_id, UserToken.revoked_at, UserToken.deleted_at)
            ).all()
        tokens = {
            row.jti: TokenState(row.user_id, row.revoked_at is not None, row.deleted_at is not None)
            for row in rows
        }
        with self._lock:
            self._tokens = tokens
            self.snapshot_started_at = started
            self._applied = {j: a for j, a in self._applied.items() if a[1] >= started}

    def check(self, claims: TokenClaims) -> None:
        """The Authenticator's claim check: refuse revoked, deleted and unknown personal tokens."""
        if claims.token_type != PERSONAL:
            return
        state = self.state(claims.token_id)
        if state is None:
            if self.snapshot_started_at is None:
                raise InvalidToken("personal tokens cannot be checked yet")
            created = jti_created_at(claims.token_id)
            if created is None or created < self.snapshot_started_at - NEW_TOKEN_GRACE_SECONDS:
                raise InvalidToken("token has been deleted")
            return  # newer than the snapshot: the signature is all there is to go on yet
        if state.user_id != claims.subject or state.deleted:
            raise InvalidToken("token has been deleted")
        if state.revoked:
            raise InvalidToken("token has been revoked")

    async def keep_fresh(self) -> None:
        """Reload forever, every `refresh_seconds`; a failed reload is logged and retried."""
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                # Not wait_for, which on Python 3.11 can drop the cancellation at shutdown.
                async with asyncio.timeout(self.refresh_seconds * 4):
                    await asyncio.to_thread(self.reload)
            except Exception as exc:
                logger.warning(
                    "could not reload personal tokens, keeping the last snapshot: %s",
                    type(exc).__name__,
                )
