"""Request and response bodies of /api/users. No body ever carries a password hash."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.paging import Page


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64, description="Letters, digits, '.', '_', '@' or '-'.")
    password: SecretStr = Field(max_length=1024, description="At least 8 characters.")
    role: Role = Role.MEMBER


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class UserPage(Page[UserRead]):
    pass
