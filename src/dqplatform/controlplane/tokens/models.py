"""The personal tokens table: one row per token, holding only a hash of its value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dqplatform.controlplane.db.base import Base, UTCDateTime, utcnow


class UserToken(Base):
    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The JWT's jti: a UUIDv7, so its creation time can be read from the id itself.
    jti: Mapped[str] = mapped_column(String(36), unique=True)
    # sha256 of the token value; the value itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A deleted token stays a while as a tombstone so every controlplane process learns
    # of the deletion on its next reload, however young the token was.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        # Names are unique per user among live tokens; a deleted token's name is free again.
        Index(
            "uq_user_tokens_user_id_name",
            "user_id",
            "name",
            unique=True,
            sqlite_where=deleted_at.is_(None),
            postgresql_where=deleted_at.is_(None),
        ),
    )

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None
