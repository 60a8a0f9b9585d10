"""Signing and verifying the platform's JWTs (HS256)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from dqplatform.controlplane.auth.roles import Role

ALGORITHM = "HS256"
SESSION = "session"


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why, without echoing the token."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: int
    role: Role
    token_id: str
    token_type: str
    expires_at: float | None
    issued_at: float = 0.0


def issue_session_token(
    secret: str, user_id: int, role: Role, ttl_seconds: int, now: float | None = None
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": str(uuid.uuid4()),
        "typ": SESSION,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> TokenClaims:
    """Verify signature, algorithm and expiry; raise InvalidToken otherwise."""
    try:
        # Only HS256 is accepted: "none" and public-key algorithms are refused here.
        payload: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "role", "iat", "jti"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token has expired") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("token signature is invalid") from None
    except jwt.InvalidAlgorithmError:
        raise InvalidToken("token algorithm is not accepted") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"token lacks the {exc.claim!r} claim") from None
    except jwt.PyJWTError:
        raise InvalidToken("token is malformed") from None
    token_type = payload.get("typ", SESSION)
    if token_type == SESSION and "exp" not in payload:
        raise InvalidToken("session token lacks the 'exp' claim")
    try:
        subject = int(payload["sub"])
        role = Role(payload["role"])
    except (TypeError, ValueError):
        raise InvalidToken("token claims are malformed") from None
    expires = payload.get("exp")
    return TokenClaims(
        subject=subject,
        role=role,
        token_id=str(payload["jti"]),
        token_type=str(token_type),
        expires_at=float(expires) if expires is not None else None,
        issued_at=_number(payload.get("iat")),
    )


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
