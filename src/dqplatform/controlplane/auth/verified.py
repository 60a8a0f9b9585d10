"""A bounded cache of verified token claims: a token reused on every request is verified once.

Verifying a JWT costs more than the whole rest of a GET /api. The cache is keyed by the whole
token string, signature included, and only tokens that passed verification enter it, so a
token that differs by a single character is verified afresh. Expiry is still honoured (a
cached token past its `exp` is verified again, which applies the leeway and refuses it), and
everything that can change after issue (revocation, deletion, the user's role) is checked by
the Authenticator on every request, cached or not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from dqplatform.controlplane.auth.tokens import TokenClaims, decode_token

MAX_CACHED_TOKENS = 4096


class VerifiedTokens:
    def __init__(
        self,
        secret: str,
        max_size: int = MAX_CACHED_TOKENS,
        clock: Callable[[], float] = time.time,
    ):
        self._secret = secret
        self._max_size = max_size
        self._clock = clock
        self._claims: dict[str, TokenClaims] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._claims)

    def decode(self, token: str) -> TokenClaims:
        """The token's claims; raise InvalidToken as decode_token does."""
        claims = self._claims.get(token)
        if claims is not None and (claims.expires_at is None or self._clock() < claims.expires_at):
            return claims
        claims = decode_token(self._secret, token)
        self._remember(token, claims)
        return claims

    def _remember(self, token: str, claims: TokenClaims) -> None:
        with self._lock:
            if len(self._claims) >= self._max_size:
                now = self._clock()
                live = [
                    (key, value)
                    for key, value in self._claims.items()
                    if value.expires_at is None or value.expires_at > now
                ]
                # Still full of live tokens: keep the newer half (dicts keep insertion order).
                if len(live) >= self._max_size:
                    live = live[len(live) // 2 :]
                self._claims = dict(live)
            self._claims[token] = claims
