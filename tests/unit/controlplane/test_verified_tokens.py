"""The cache of verified tokens: each token verified once, expiry honoured, size bounded."""

from __future__ import annotations

import time

import pytest

from dqplatform.controlplane.auth import verified
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import InvalidToken, TokenClaims, issue_session_token
from dqplatform.controlplane.auth.verified import VerifiedTokens

SECRET = "a test secret that is long enough for HS256"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token that really gets verified (signature and claims), in order."""
    seen: list[str] = []
    real = verified.decode_token

    def counting(secret: str, token: str) -> TokenClaims:
        seen.append(token)
        return real(secret, token)

    monkeypatch.setattr(verified, "decode_token", counting)
    return seen


def test_a_reused_token_is_verified_once(verifications: list[str]) -> None:
    cache = VerifiedTokens(SECRET)
    token = issue_session_token(SECRET, 7, Role.MANAGER, 600)
    first = cache.decode(token)
    assert all(cache.decode(token) == first for _ in range(100))
    assert verifications == [token]
    assert (first.subject, first.role) == (7, Role.MANAGER)


def test_an_altered_token_is_never_served_from_the_cache(verifications: list[str]) -> None:
    cache = VerifiedTokens(SECRET)
    token = issue_session_token(SECRET, 7, Role.MEMBER, 600)
    cache.decode(token)
    header, payload, signature = token.split(".")
    for altered in (f"{header}.{payload}.{signature[:-4]}AAAA", f"{header}.{payload}x.{signature}"):
        with pytest.raises(InvalidToken):
            cache.decode(altered)
    with pytest.raises(InvalidToken):
        VerifiedTokens("another secret, long enough for HS256!").decode(token)
    assert len(cache) == 1


def test_a_failed_verification_is_not_cached(verifications: list[str]) -> None:
    cache = VerifiedTokens(SECRET)
    bad = issue_session_token("the wrong secret, long enough too!!", 7, Role.ADMIN, 600)
    for _ in range(3):
        with pytest.raises(InvalidToken, match="signature"):
            cache.decode(bad)
    assert len(cache) == 0 and verifications == [bad] * 3


def test_a_cached_token_is_verified_again_once_past_its_expiry(
    verifications: list[str],
) -> None:
    clock = Clock()
    cache = VerifiedTokens(SECRET, clock=clock)
    token = issue_session_token(SECRET, 7, Role.MEMBER, 600)
    cache.decode(token)
    clock.now += 599
    cache.decode(token)
    assert len(verifications) == 1
    clock.now += 2  # past exp by the cache's clock: verified again (which applies the leeway)
    cache.decode(token)
    assert len(verifications) == 2


def test_an_expired_token_is_refused_although_it_was_cached() -> None:
    # Expired 2-3 s ago: still inside the 5 s leeway, so accepted (and cached) now...
    issued = time.time() - 62
    token = issue_session_token(SECRET, 7, Role.MEMBER, 60, now=issued)
    cache = VerifiedTokens(SECRET)
    assert cache.decode(token).subject == 7
    # ...and refused once the leeway has run out, cached or not.
    time.sleep(max(0.0, issued + 60 + 5 + 0.2 - time.time()))
    with pytest.raises(InvalidToken, match="expired"):
        cache.decode(token)


def test_the_cache_is_bounded_and_keeps_the_newest_tokens(verifications: list[str]) -> None:
    cache = VerifiedTokens(SECRET, max_size=8)
    tokens = [issue_session_token(SECRET, n, Role.MEMBER, 600) for n in range(50)]
    for token in tokens:
        cache.decode(token)
        assert len(cache) <= 8
    verifications.clear()
    cache.decode(tokens[-1])
    assert verifications == []


def test_expired_tokens_are_dropped_first_when_full() -> None:
    clock = Clock()
    cache = VerifiedTokens(SECRET, max_size=4, clock=clock)
    short = [issue_session_token(SECRET, n, Role.MEMBER, 60) for n in range(3)]
    long_lived = issue_session_token(SECRET, 99, Role.MEMBER, 3600)
    for token in [*short, long_lived]:
        cache.decode(token)
    clock.now += 120  # the short ones are past exp by the cache's clock
    cache.decode(issue_session_token(SECRET, 100, Role.MEMBER, 3600))
    assert len(cache) == 2  # the long-lived one and the new one
