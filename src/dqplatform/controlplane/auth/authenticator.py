"""Turning a bearer token into the principal that makes the request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dqplatform.controlplane.auth.directory import UserDirectory
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import InvalidToken, TokenClaims
from dqplatform.controlplane.auth.verified import VerifiedTokens


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: Role
    token_id: str
    token_type: str


# A check on claims beyond the signature (personal-token revocation, say): raises InvalidToken.
ClaimCheck = Callable[[TokenClaims], None]


class Authenticator:
    def __init__(self, secret: str, directory: UserDirectory):
        self._verified = VerifiedTokens(secret)
        self._directory = directory
        self._checks: list[ClaimCheck] = []

    def add_check(self, check: ClaimCheck) -> None:
        self._checks.append(check)

    def authenticate(self, token: str) -> Principal:
        claims = self._verified.decode(token)
        for check in self._checks:
            check(claims)
        known = self._directory.get(claims.subject)
        if known is None:
            # A token issued before the snapshot was read belongs to a user that was gone by
            # then. One issued later may belong to a user created since (on another worker,
            # say): its claims stand until the next reload says otherwise.
            if self._directory.loaded and claims.issued_at < self._directory.snapshot_time:
                raise InvalidToken("the token's user no longer exists")
            # Users never loaded (database down since start), or a user newer than the
            # snapshot: the signed claims are all we have.
            return Principal(
                claims.subject,
                f"user-{claims.subject}",
                claims.role,
                claims.token_id,
                claims.token_type,
            )
        # The current role wins over the one in the token, so a change takes effect at once.
        return Principal(known.id, known.username, known.role, claims.token_id, claims.token_type)
