"""Every kind of bad bearer token gets 401; a valid one never needs the database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.dependencies import CurrentUser, RequireAdmin
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.auth.tokens import issue_session_token
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.users import service
from dqplatform.settings import Settings
from tests.conftest import SettingsFactory
from tests.helpers import bearer, create_user, token_for

# Routes the tests add to the app: what the authenticated principal is, and an Admin-only door.
WHOAMI = "/api/_test/whoami"
ADMIN_ONLY = "/api/_test/admin"


def with_probe_routes(app: FastAPI) -> FastAPI:
    @app.get(WHOAMI)
    async def whoami(principal: CurrentUser) -> dict[str, Any]:
        return {"user_id": principal.user_id, "role": principal.role.value}

    @app.get(ADMIN_ONLY)
    async def admin_only(principal: RequireAdmin) -> dict[str, Any]:
        return {"user_id": principal.user_id, "role": principal.role.value}

    return app


# ---- hand-made JWTs --------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256(key: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """Sign by hand, so that keys PyJWT refuses (a PEM public key) can be used too."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def claims(user_id: int, role: str = "member", **changes: Any) -> dict[str, Any]:
    """Valid session claims; a change to None drops that claim."""
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "typ": "session",
    }
    values.update(changes)
    return {key: value for key, value in values.items() if value is not None}


def replace_payload(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The token with its payload altered and the original signature kept."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(decoded)
    return f"{header}.{segment(decoded)}.{signature}"


_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_RSA_PUBLIC_PEM = _RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@dataclass(frozen=True)
class World:
    """One running app with a Member `mia`, shared by the read-only cases below."""

    client: TestClient
    settings: Settings
    member_id: int
    member_token: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("tokens") / "data")  # type: ignore[call-arg]
    member_id = create_user(settings, "mia", Role.MEMBER)
    token = issue_session_token(settings.signing_secret, member_id, Role.MEMBER, 600)
    with TestClient(with_probe_routes(create_app(settings))) as client:
        yield World(client, settings, member_id, token)


# Each case builds the Authorization header (None: no header) from the world.
HeaderCase = Callable[[World], str | None]

BAD_AUTHORIZATION: dict[str, HeaderCase] = {
    "missing header": lambda w: None,
    "empty header": lambda w: "",
    "basic scheme": lambda w: "Basic bWlhOmNvcnJlY3QgaG9yc2UgYmF0dGVyeQ==",
    "valid token, other scheme": lambda w: f"Token {w.member_token}",
    "valid token, no scheme": lambda w: w.member_token,
    "bearer without token": lambda w: "Bearer",
    "bearer with blanks": lambda w: "Bearer    ",
    "not a jwt": lambda w: "Bearer not-a-jwt",
    "three junk segments": lambda w: "Bearer a.b.c",
    "four segments": lambda w: f"Bearer {w.member_token}.e30",
    "truncated signature": lambda w: f"Bearer {w.member_token[:-6]}",
    "payload not json": lambda w: (
        "Bearer "
        + ".".join([segment({"alg": "HS256", "typ": "JWT"}), b64url(b"not json"), b64url(b"x")])
    ),
    "signed with another secret": lambda w: (
        "Bearer "
        + issue_session_token("another secret, not ours" * 2, w.member_id, Role.MEMBER, 600)
    ),
    "expired": lambda w: (
        "Bearer "
        + issue_session_token(
            w.settings.signing_secret, w.member_id, Role.MEMBER, 60, now=time.time() - 3600
        )
    ),
    "not valid yet (nbf)": lambda w: (
        "Bearer "
        + jwt.encode(
            claims(w.member_id, nbf=int(time.time()) + 3600), w.settings.signing_secret, "HS256"
        )
    ),
    "alg none, no signature": lambda w: (
        "Bearer " + f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims(w.member_id))}."
    ),
    "alg None, no signature": lambda w: (
        "Bearer " + f"{segment({'alg': 'None', 'typ': 'JWT'})}.{segment(claims(w.member_id))}."
    ),
    "alg none, real signature kept": lambda w: (
        "Bearer " + segment({"alg": "none", "typ": "JWT"}) + "." + w.member_token.split(".", 1)[1]
    ),
    "alg HS512, right secret": lambda w: (
        "Bearer " + jwt.encode(claims(w.member_id), w.settings.signing_secret, "HS512")
    ),
    "RS256 with a generated key": lambda w: (
        "Bearer " + jwt.encode(claims(w.member_id, role="admin"), _RSA_KEY, "RS256")
    ),
    "HS256 keyed with the public key PEM": lambda w: (
        "Bearer "
        + hs256(_RSA_PUBLIC_PEM, {"alg": "HS256", "typ": "JWT"}, claims(w.member_id, role="admin"))
    ),
    "forged role claim": lambda w: (
        "Bearer " + replace_payload(w.member_token, lambda p: p.update(role="admin"))
    ),
    "forged subject claim": lambda w: (
        "Bearer " + replace_payload(w.member_token, lambda p: p.update(sub=str(w.member_id + 1)))
    ),
    "forged expiry claim": lambda w: (
        "Bearer " + replace_payload(w.member_token, lambda p: p.update(exp=p["exp"] + 86400))
    ),
    **{
        f"missing {name} claim": (
            lambda w, name=name: (
                "Bearer "
                + jwt.encode(
                    claims(w.member_id, **{name: None}), w.settings.signing_secret, "HS256"
                )
            )
        )
        for name in ("sub", "role", "iat", "exp", "jti")
    },
    "subject not a user id": lambda w: (
        "Bearer " + jwt.encode(claims(w.member_id, sub="mia"), w.settings.signing_secret, "HS256")
    ),
    "unknown role": lambda w: (
        "Bearer " + jwt.encode(claims(w.member_id, role="root"), w.settings.signing_secret, "HS256")
    ),
    # Issued before the directory's snapshot was read, so the user's absence is known then.
    "user that never existed": lambda w: (
        "Bearer "
        + issue_session_token(
            w.settings.signing_secret, 987_654, Role.ADMIN, 600, now=time.time() - 60
        )
    ),
    "personal token the server never issued": lambda w: (
        "Bearer "
        + jwt.encode(claims(w.member_id, typ="personal"), w.settings.signing_secret, "HS256")
    ),
}


def assert_unauthenticated(response: Any, *secrets_: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "code", "detail"}
    assert body["status"] == 401
    assert body["code"] == "not_authenticated"
    assert isinstance(body["detail"], str) and body["detail"]
    for secret in secrets_:
        if secret:
            assert secret not in response.text


def test_the_member_token_itself_is_accepted(world: World) -> None:
    # The control for every refusal below: the same app, user and path answer 200.
    response = world.client.get("/api", headers=bearer(world.member_token))
    assert response.status_code == 200
    assert world.client.get(WHOAMI, headers=bearer(world.member_token)).json() == {
        "user_id": world.member_id,
        "role": "member",
    }


@pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
def test_bad_authorization_is_refused_with_401(world: World, case: str) -> None:
    value = BAD_AUTHORIZATION[case](world)
    headers = {} if value is None else {"Authorization": value}
    response = world.client.get("/api", headers=headers)
    # The token (if any) is never echoed back.
    assert_unauthenticated(response, (value or "").removeprefix("Bearer").strip())


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("missing header", "missing bearer token"),
        ("signed with another secret", "token signature is invalid"),
        ("forged role claim", "token signature is invalid"),
        ("expired", "token has expired"),
        ("alg none, no signature", "token algorithm is not accepted"),
        ("RS256 with a generated key", "token algorithm is not accepted"),
        ("missing jti claim", "token lacks the 'jti' claim"),
        ("missing exp claim", "session token lacks the 'exp' claim"),
        ("user that never existed", "the token's user no longer exists"),
    ],
)
def test_the_detail_says_why(world: World, case: str, detail: str) -> None:
    value = BAD_AUTHORIZATION[case](world)
    headers = {} if value is None else {"Authorization": value}
    assert world.client.get("/api", headers=headers).json()["detail"] == detail


def test_a_token_expiring_within_the_leeway_is_still_accepted(world: World) -> None:
    # Expired 2 s ago: inside the 5 s allowance for clock differences between hosts.
    token = issue_session_token(
        world.settings.signing_secret, world.member_id, Role.MEMBER, 60, now=time.time() - 62
    )
    assert world.client.get("/api", headers=bearer(token)).status_code == 200


# ---- the user directory: deletions and role changes -----------------------------------


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    # A long reload interval: these tests reload the directory themselves, when they choose.
    return make_settings(auth_cache_seconds=300)


def _change_user(settings: Settings, username: str, role: Role | None) -> None:
    """Set the user's role, or delete the user (role None), straight in the database."""
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session, session.begin():
            user = service.require_by_username(session, username)
            if role is None:
                service.remove_user(session, user)
            else:
                service.set_role(session, user, role)
    finally:
        engine.dispose()


def test_a_deleted_users_token_is_refused_after_the_directory_reloads(settings: Settings) -> None:
    token = token_for(settings, "mia", Role.MEMBER)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api", headers=bearer(token)).status_code == 200
        _change_user(settings, "mia", None)
        client.app.state.platform.users.reload()  # type: ignore[attr-defined]
        response = client.get("/api", headers=bearer(token))
        assert_unauthenticated(response, token)
        assert response.json()["detail"] == "the token's user no longer exists"


def test_a_deletion_takes_effect_within_the_reload_interval(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(auth_cache_seconds=0.2)
    token = token_for(settings, "mia", Role.MEMBER)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api", headers=bearer(token)).status_code == 200
        _change_user(settings, "mia", None)
        deleted_at = time.monotonic()
        while client.get("/api", headers=bearer(token)).status_code == 200:
            assert time.monotonic() - deleted_at < 10, "the deletion never took effect"
            time.sleep(0.02)
        # The bound is one reload interval plus the time a reload takes: here 0.2 s and a
        # little, so well inside 3 s even on a busy machine, and the 5 s default interval
        # could not have done it.
        assert time.monotonic() - deleted_at < 3


def test_a_role_change_applies_to_existing_tokens_after_reload(settings: Settings) -> None:
    member_token = token_for(settings, "mia", Role.MEMBER)
    admin_token = token_for(settings, "ada", Role.ADMIN)
    with TestClient(with_probe_routes(create_app(settings))) as client:
        users = client.app.state.platform.users  # type: ignore[attr-defined]
        assert client.get(ADMIN_ONLY, headers=bearer(member_token)).status_code == 403
        assert client.get(ADMIN_ONLY, headers=bearer(admin_token)).status_code == 200

        _change_user(settings, "mia", Role.ADMIN)
        _change_user(settings, "ada", Role.MEMBER)
        users.reload()
        # The role claims inside the tokens are unchanged; the directory's roles win.
        promoted = client.get(ADMIN_ONLY, headers=bearer(member_token))
        assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
        demoted = client.get(ADMIN_ONLY, headers=bearer(admin_token))
        assert demoted.status_code == 403
        assert demoted.json() == {
            "status": 403,
            "code": "forbidden",
            "detail": "requires the admin role",
        }
        assert client.get(WHOAMI, headers=bearer(admin_token)).json()["role"] == "member"
        # A demoted user still may do what a Member may.
        assert client.get("/api", headers=bearer(admin_token)).status_code == 200


# ---- no database needed ------------------------------------------------------------------


def test_verification_works_while_the_database_is_unreachable(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings(auth_cache_seconds=0.1)
    token = token_for(settings, "mia", Role.MEMBER)
    with TestClient(create_app(settings)) as client:
        state = client.app.state.platform  # type: ignore[attr-defined]
        assert client.get("/api", headers=bearer(token)).status_code == 200

        # From now on every session the app opens goes to a database that cannot be opened.
        dead = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}")
        state.session_factory.configure(bind=dead)
        state.engine.dispose()
        with pytest.raises(OperationalError):
            state.users.reload()
        # An endpoint that does need the database shows it is really gone...
        down = client.get("/api/users/me", headers=bearer(token))
        assert down.status_code == 503
        assert down.json()["code"] == "service_unavailable"

        # ...while GET /api keeps answering, also after several failed background reloads.
        assert client.get("/api", headers=bearer(token)).status_code == 200
        time.sleep(0.5)
        response = client.get("/api", headers=bearer(token))
        assert response.status_code == 200
        assert response.json()["jwt_ttl_seconds"] == settings.jwt_ttl_seconds
        # Bad tokens are still refused: the database being down opens no door.
        forged = replace_payload(token, lambda p: p.update(role="admin"))
        assert_unauthenticated(client.get("/api", headers=bearer(forged)), forged)
        dead.dispose()
