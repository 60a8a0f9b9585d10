"""HMAC signatures the platform makes for itself: CSRF tokens and short-lived form tokens.

Each use names a purpose, and the key is derived from the signing secret and that purpose,
so a signature made for one purpose (a sign-in form) is never valid for another (a CSRF
token, the CLI authorize form), nor as a JWT, which is signed with the secret itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence

# Purposes in use. The CSRF key predates this module: its derivation is kept, so sessions
# signed in before an upgrade keep their CSRF token.
CSRF = "csrf"
UI_SIGN_IN_FORM = "ui sign-in form"
CLI_AUTHORIZE_FORM = "cli-authorize form"

# A timestamp of more digits is no time this platform issued (year 33658 and beyond).
_MAX_ISSUED_DIGITS = 12


def purpose_key(secret: str, purpose: str) -> bytes:
    """The key for `purpose`: an HMAC of the purpose's name under the signing secret."""
    return hmac.new(secret.encode(), f"dqplatform {purpose}".encode(), hashlib.sha256).digest()


def mac(secret: str, purpose: str, message: str) -> str:
    """The hex HMAC-SHA256 of `message` under the key for `purpose`."""
    return hmac.new(purpose_key(secret, purpose), message.encode(), hashlib.sha256).hexdigest()


def same(expected: str, presented: str | None) -> bool:
    """Constant-time comparison; a missing value never matches."""
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())


def sign(secret: str, purpose: str, bound_to: Sequence[str], issued: int) -> str:
    """`<issued>.<mac>`: a token that is valid for what it is `bound_to` (a cookie's nonce,
    a form's fields) and tells its own age."""
    message = json.dumps([issued, *bound_to])
    return f"{issued}.{mac(secret, purpose, message)}"


def verify(
    secret: str,
    purpose: str,
    bound_to: Sequence[str],
    token: str,
    *,
    ttl_seconds: float,
    now: float,
) -> bool:
    """True if `token` is what `sign` made for `bound_to` at most `ttl_seconds` ago (and not
    in the future)."""
    issued_text, _, _ = token.partition(".")
    if not issued_text.isdigit() or len(issued_text) > _MAX_ISSUED_DIGITS:
        return False
    issued = int(issued_text)
    if not 0 <= now - issued <= ttl_seconds:
        return False
    return same(sign(secret, purpose, bound_to, issued), token)
