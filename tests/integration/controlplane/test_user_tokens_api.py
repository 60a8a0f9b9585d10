"""The personal token lifecycle through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.tokens import service
from dqplatform.controlplane.tokens.models import UserToken
from tests.helpers import bearer
from tests.integration.controlplane.auth_fixtures import (
    Account,
    Api,
    api,
    backend,
    fast_passwords,
    settings_on,
)

pytestmark = pytest.mark.integration
__all__ = ["api", "backend", "fast_passwords"]  # fixtures


def create(client: TestClient, account: Account, **body: object) -> dict[str, object]:
    response = client.post("/api/user-tokens", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_lifecycle_create_use_list_revoke_restore_delete(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client, alice = api.client, api.account()
    created = create(client, alice, name="ci pipeline", expires_in_days=30)
    value = str(created["token"])
    assert created["name"] == "ci pipeline"
    assert created["revoked"] is False

    claims = jwt.decode(value, options={"verify_signature": False})
    assert claims["typ"] == "personal"
    assert claims["role"] == "member"
    assert claims["sub"] == str(alice.id)
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert client.get("/api", headers=bearer(value)).status_code == 200
    assert client.get("/api/users/me", headers=bearer(value)).json()["username"] == alice.username

    listed = client.get("/api/user-tokens", headers=bearer(value))
    assert listed.status_code == 200
    assert [t["name"] for t in listed.json()] == ["ci pipeline"]
    assert "token" not in listed.json()[0]
    assert value not in listed.text
    assert service.hash_token(value) not in listed.text

    token_id = created["id"]
    revoked = client.put(
        f"/api/user-tokens/{token_id}", json={"revoke": True}, headers=alice.headers
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is True
    assert revoked.json()["revoked_at"]
    refused = client.get("/api", headers=bearer(value))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "token has been revoked"
    api.state.tokens.reload()  # the database agrees
    assert client.get("/api", headers=bearer(value)).status_code == 401

    restored = client.put(
        f"/api/user-tokens/{token_id}", json={"revoke": False}, headers=alice.headers
    )
    assert restored.json()["revoked"] is False
    assert restored.json()["revoked_at"] is None
    assert client.get("/api", headers=bearer(value)).status_code == 200
    api.state.tokens.reload()
    assert client.get("/api", headers=bearer(value)).status_code == 200

    # A token may delete itself; it stops working at once.
    assert client.delete(f"/api/user-tokens/{token_id}", headers=bearer(value)).status_code == 204
    assert client.get("/api", headers=bearer(value)).status_code == 401
    assert client.get("/api/user-tokens", headers=alice.headers).json() == []
    assert client.delete(f"/api/user-tokens/{token_id}", headers=alice.headers).status_code == 404
    api.state.tokens.reload()
    assert client.get("/api", headers=bearer(value)).json()["detail"] == "token has been deleted"

    assert value not in caplog.text
    assert service.hash_token(value) not in caplog.text


def test_only_a_hash_is_stored(api: Api) -> None:
    alice = api.account()
    value = str(create(api.client, alice, name="stored")["token"])
    with api.state.session_factory() as session:
        row = session.scalars(select(UserToken).where(UserToken.user_id == alice.id)).one()
    assert row.token_hash == service.hash_token(value)
    assert value not in {str(getattr(row, column.key)) for column in UserToken.__table__.columns}


def test_a_token_without_expiry_has_no_exp_claim(api: Api) -> None:
    alice = api.account()
    created = create(api.client, alice, name="forever", expires_in_days=None)
    assert created["expires_at"] is None
    assert "exp" not in jwt.decode(str(created["token"]), options={"verify_signature": False})
    assert create(api.client, alice, name="forever too")["expires_at"] is None
    assert api.client.get("/api", headers=bearer(str(created["token"]))).status_code == 200


def test_an_expired_token_is_refused(api: Api) -> None:
    alice = api.account()
    with api.state.session_factory.begin() as session:
        issued = service.create_token(
            session,
            secret=api.settings.signing_secret,
            user_id=alice.id,
            role=Role.MEMBER,
            name="old",
            expires_in_days=1,
            now=datetime.now(UTC) - timedelta(days=2),
        )
    api.state.tokens.reload()
    refused = api.client.get("/api", headers=bearer(issued.value))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "token has expired"
    listed = api.client.get("/api/user-tokens", headers=alice.headers).json()
    assert listed[0]["name"] == "old"
    assert datetime.fromisoformat(listed[0]["expires_at"]) < datetime.now(UTC)


def test_names_are_unique_per_user(api: Api) -> None:
    alice, bob = api.account(), api.account()
    first = create(api.client, alice, name="laptop")
    duplicate = api.client.post(
        "/api/user-tokens", json={"name": " laptop "}, headers=alice.headers
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "conflict"
    create(api.client, bob, name="laptop")  # another user's namespace
    api.client.delete(f"/api/user-tokens/{first['id']}", headers=alice.headers)
    create(api.client, alice, name="laptop")  # free again once deleted


INVALID_BODIES: list[dict[str, object]] = [
    {"name": "x", "expires_in_days": 0},
    {"name": "x", "expires_in_days": 366},
    {"name": "x", "expires_in_days": -1},
    {"name": "x", "expires_in_days": "30"},
    {"name": "x", "expires_in_days": 1.5},
    {"name": "x", "expires_in_days": True},
    {"name": ""},
    {"name": "   "},
    {"name": "x" * 101},
    {"name": "line\nbreak"},
    {"name": 5},
    {"expires_in_days": 5},
    {"name": "x", "unexpected": 1},
]


def test_invalid_bodies_are_refused(api: Api) -> None:
    alice = api.account()
    for body in INVALID_BODIES:
        response = api.client.post("/api/user-tokens", json=body, headers=alice.headers)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"
    assert api.client.get("/api/user-tokens", headers=alice.headers).json() == []
    # The limits themselves are fine.
    assert create(api.client, alice, name="one day", expires_in_days=1)["expires_at"]
    assert create(api.client, alice, name="a year", expires_in_days=365)["expires_at"]


def test_another_users_token_is_not_found(api: Api) -> None:
    alice, bob = api.account(), api.account()
    bobs = create(api.client, bob, name="bob's")
    for response in (
        api.client.put(
            f"/api/user-tokens/{bobs['id']}", json={"revoke": True}, headers=alice.headers
        ),
        api.client.delete(f"/api/user-tokens/{bobs['id']}", headers=alice.headers),
        api.client.put("/api/user-tokens/999999", json={"revoke": True}, headers=alice.headers),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert api.client.get("/api/user-tokens", headers=alice.headers).json() == []
    assert api.client.get("/api", headers=bearer(str(bobs["token"]))).status_code == 200
    bad = [
        api.client.put("/api/user-tokens/abc", json={"revoke": True}, headers=alice.headers),
        api.client.put(
            f"/api/user-tokens/{bobs['id']}", json={"revoke": "yes"}, headers=alice.headers
        ),
        api.client.put(f"/api/user-tokens/{bobs['id']}", json={}, headers=alice.headers),
    ]
    assert [response.status_code for response in bad] == [422, 422, 422]


def test_the_endpoints_need_a_token(api: Api) -> None:
    client = api.client
    assert client.get("/api/user-tokens").status_code == 401
    assert client.post("/api/user-tokens", json={"name": "x"}).status_code == 401
    assert client.put("/api/user-tokens/1", json={"revoke": True}).status_code == 401
    assert client.delete("/api/user-tokens/1").status_code == 401


def test_every_role_manages_its_own_tokens(api: Api) -> None:
    for role in Role:
        account = api.account(role)
        value = str(create(api.client, account, name="mine")["token"])
        assert jwt.decode(value, options={"verify_signature": False})["role"] == role.value
        assert api.client.get("/api/user-tokens", headers=bearer(value)).status_code == 200


def test_deleting_the_user_ends_their_tokens(api: Api) -> None:
    admin, bob = api.account(Role.ADMIN), api.account()
    value = str(create(api.client, bob, name="bob's")["token"])
    assert api.client.delete(f"/api/users/{bob.id}", headers=admin.headers).status_code == 204
    assert api.client.get("/api", headers=bearer(value)).status_code == 401
    api.state.tokens.reload()
    assert api.client.get("/api", headers=bearer(value)).status_code == 401
    with api.state.session_factory() as session:
        assert session.scalars(select(UserToken).where(UserToken.user_id == bob.id)).all() == []


def wait_for_status(client: TestClient, token: str, expected: int, within: float) -> float:
    """Seconds until GET /api answers `expected` with `token`; fails after `within`."""
    started = time.monotonic()
    while True:
        status = client.get("/api", headers=bearer(token)).status_code
        elapsed = time.monotonic() - started
        if status == expected:
            return elapsed
        assert elapsed < within, f"still {status} after {elapsed:.2f} s"
        time.sleep(0.05)


def test_changes_reach_another_process_within_the_reload_interval(
    backend: str, tmp_path: Path
) -> None:
    # Two controlplanes on one database, as with several workers or replicas.
    with settings_on(backend, tmp_path, auth_cache_seconds=0.3) as settings:
        one_app, two_app = create_app(settings), create_app(settings)
        with TestClient(one_app) as one, TestClient(two_app) as two:
            alice = Api(one, settings).account()
            two_app.state.users.reload()
            created = create(one, alice, name="shared")
            value, token_id = str(created["token"]), created["id"]
            # Created a moment ago in the other process: usable here at once.
            assert two.get("/api", headers=bearer(value)).status_code == 200
            one.put(f"/api/user-tokens/{token_id}", json={"revoke": True}, headers=alice.headers)
            assert one.get("/api", headers=bearer(value)).status_code == 401
            # The stated bound: one reload interval (0.3 s here) plus the reload itself.
            assert wait_for_status(two, value, 401, within=1.5) < 1.5
            one.put(f"/api/user-tokens/{token_id}", json={"revoke": False}, headers=alice.headers)
            wait_for_status(two, value, 200, within=1.5)
            one.delete(f"/api/user-tokens/{token_id}", headers=alice.headers)
            wait_for_status(two, value, 401, within=1.5)
            # A young token deleted in one process is refused in the other after its reload.
            young = create(one, alice, name="young")
            assert two.get("/api", headers=bearer(str(young["token"]))).status_code == 200
            one.delete(f"/api/user-tokens/{young['id']}", headers=alice.headers)
            wait_for_status(two, str(young["token"]), 401, within=1.5)
