"""The one signed-token helper behind the CSRF token, the sign-in form and the CLI form."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from dqplatform.controlplane.auth import signing
from dqplatform.controlplane.auth.dependencies import csrf_token

SECRET = "a signing secret"
PURPOSES = [signing.CSRF, signing.UI_SIGN_IN_FORM, signing.CLI_AUTHORIZE_FORM]


def _hmac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def test_the_csrf_token_keeps_its_derivation() -> None:
    # Computed here the way it was before the helper existed: sessions signed in before an
    # upgrade keep a valid CSRF token.
    key = hmac.new(SECRET.encode(), b"dqplatform csrf", hashlib.sha256).digest()
    assert csrf_token(SECRET, "jti-1") == _hmac(key, "jti-1")
    assert csrf_token(SECRET, "jti-1") != csrf_token(SECRET, "jti-2")


def test_a_token_is_the_issue_time_and_the_hmac_of_what_it_is_bound_to() -> None:
    key = hmac.new(SECRET.encode(), b"dqplatform ui sign-in form", hashlib.sha256).digest()
    expected = f"1000.{_hmac(key, json.dumps([1000, 'nonce']))}"
    assert signing.sign(SECRET, signing.UI_SIGN_IN_FORM, ["nonce"], 1000) == expected


def test_each_purpose_has_its_own_key() -> None:
    tokens = {p: signing.sign(SECRET, p, ["nonce"], 1000) for p in PURPOSES}
    assert len(set(tokens.values())) == len(PURPOSES)
    for made_for, token in tokens.items():
        for purpose in PURPOSES:
            valid = signing.verify(SECRET, purpose, ["nonce"], token, ttl_seconds=60, now=1001)
            assert valid == (purpose == made_for), (made_for, purpose)


@pytest.mark.parametrize("now", [1000, 1030, 1060])  # at once, later, at the end of its life
def test_a_token_verifies_within_its_life(now: float) -> None:
    token = signing.sign(SECRET, signing.CLI_AUTHORIZE_FORM, ["nonce"], 1000)
    assert signing.verify(
        SECRET, signing.CLI_AUTHORIZE_FORM, ["nonce"], token, ttl_seconds=60, now=now
    )


@pytest.mark.parametrize(
    ("bound_to", "now", "secret", "token"),
    [
        (["other nonce"], 1001, SECRET, None),
        (["nonce", "extra"], 1001, SECRET, None),
        (["nonce"], 1061, SECRET, None),  # expired
        (["nonce"], 999, SECRET, None),  # issued in the future
        (["nonce"], 1001, "another secret", None),
        (["nonce"], 1001, SECRET, ""),
        (["nonce"], 1001, SECRET, "1000"),
        (["nonce"], 1001, SECRET, "1000.forged"),
        (["nonce"], 1001, SECRET, "-1000.x"),
        (["nonce"], 1001, SECRET, "1" * 13 + ".x"),  # no time this platform issued
    ],
)
def test_anything_else_does_not(
    bound_to: list[str], now: float, secret: str, token: str | None
) -> None:
    made = signing.sign(SECRET, signing.CLI_AUTHORIZE_FORM, ["nonce"], 1000)
    assert not signing.verify(
        secret,
        signing.CLI_AUTHORIZE_FORM,
        bound_to,
        made if token is None else token,
        ttl_seconds=60,
        now=now,
    )


def test_fields_cannot_be_shifted_between_one_another() -> None:
    # Bound as a JSON list, so ["a.b", "c"] and ["a", "b.c"] are different messages.
    token = signing.sign(SECRET, signing.CLI_AUTHORIZE_FORM, ["a.b", "c"], 1000)
    assert not signing.verify(
        SECRET, signing.CLI_AUTHORIZE_FORM, ["a", "b.c"], token, ttl_seconds=60, now=1000
    )


def test_same_refuses_a_missing_value() -> None:
    assert signing.same("abc", "abc")
    assert not signing.same("abc", None)
    assert not signing.same("abc", "abd")
    assert not signing.same("", None)
