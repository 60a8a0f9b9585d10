"""The user roles and their order: Member < Manager < Admin."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    MANAGER = "manager"
    ADMIN = "admin"

    def allows(self, required: Role) -> bool:
        """A higher role may do everything a lower one may."""
        return _LEVELS[self] >= _LEVELS[required]


_LEVELS = {Role.MEMBER: 1, Role.MANAGER: 2, Role.ADMIN: 3}
