"""Request and response bodies of /api/user-tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from dqplatform.controlplane.tokens.service import MAX_EXPIRY_DAYS

TokenName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TokenName = Field(description="Unique among your tokens.")
    expires_in_days: Annotated[int, Field(strict=True, ge=1, le=MAX_EXPIRY_DAYS)] | None = Field(
        default=None,
        description=f"1-{MAX_EXPIRY_DAYS} days, or null for a token that never expires.",
    )


class TokenUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revoke: StrictBool = Field(description="true revokes the token, false restores it.")


class TokenRead(BaseModel):
    """A personal token as listed: never its value."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The token value. Shown this once; only its hash is kept.")
