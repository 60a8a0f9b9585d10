"""The failed sign-ins table: the login throttle's counts, shared by every controlplane."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime

# "user:" or "addr:" and the sha256 of the case-folded username or the client address.
LOGIN_KEY_LENGTH = 69


class LoginFailures(Base):
    """One username's or one client address's failed sign-ins that are still in the window.

    The key is a hash: people type their password into the username field by mistake, so
    the typed name is never stored (nor logged).
    """

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(LOGIN_KEY_LENGTH), primary_key=True)
    # [[attempt id, Unix time], ...]: at most the limit's number of entries, since an attempt
    # over the limit is refused before it is written.
    attempts: Mapped[list[list[str | float]]] = mapped_column(JSON, default=list)
    # When the newest attempt leaves the window; expired rows are swept away.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
