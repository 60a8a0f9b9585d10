"""An in-memory snapshot of the users, so that checking a token never waits on the database.

The snapshot is reloaded every `auth_cache_seconds`; that interval is the bound within which a
deleted user or a changed role takes effect. When the database is down the last snapshot
stays in force, so authenticated endpoints (the status endpoint above all) keep answering.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.users.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KnownUser:
    id: int
    username: str
    role: Role


class UserDirectory:
    def __init__(self, session_factory: sessionmaker[Session], refresh_seconds: float):
        self._session_factory = session_factory
        self.refresh_seconds = refresh_seconds
        self._users: dict[int, KnownUser] | None = None
        self.loaded_at: float | None = None
        # Wall-clock time just before the last snapshot was read: a user missing from it may
        # still exist if it was created after this instant.
        self.snapshot_time: float = 0.0

    @property
    def loaded(self) -> bool:
        return self._users is not None

    def get(self, user_id: int) -> KnownUser | None:
        """The user as last loaded, or None if it did not exist then."""
        return None if self._users is None else self._users.get(user_id)

    def reload(self) -> None:
        """Load every user (blocking); keeps the old snapshot if the database fails."""
        started = time.time()
        with self._session_factory() as session:
            rows = session.execute(select(User.id, User.username, User.role)).all()
        self._users = {row.id: KnownUser(row.id, row.username, Role(row.role)) for row in rows}
        self.loaded_at = time.monotonic()
        self.snapshot_time = started

    async def keep_fresh(self) -> None:
        """Reload forever, every `refresh_seconds`; a failed reload is logged and retried."""
        while True:
            try:
                # Not wait_for, which on Python 3.11 can drop the cancellation at shutdown.
                async with asyncio.timeout(self.refresh_seconds * 4):
                    await asyncio.to_thread(self.reload)
            except Exception as exc:
                logger.warning(
                    "could not reload users, keeping the last snapshot: %s", type(exc).__name__
                )
            await asyncio.sleep(self.refresh_seconds)
