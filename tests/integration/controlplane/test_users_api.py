"""The users API: Admins only (except /me), pagination, roles, and the last Admin."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from tests.helpers import PASSWORD
from tests.integration.controlplane.auth_fixtures import (
    Api,
    api,
    backend,
    fast_passwords,
    settings_on,
)

pytestmark = pytest.mark.integration
__all__ = ["api", "backend", "fast_passwords"]  # fixtures

USER_FIELDS = {"id", "username", "role", "created_at"}


def test_members_and_managers_may_not_manage_users(api: Api) -> None:
    target = api.account()
    for role in (Role.MEMBER, Role.MANAGER):
        headers = api.account(role).headers
        responses = [
            api.client.get("/api/users", headers=headers),
            api.client.get(f"/api/users/{target.id}", headers=headers),
            api.client.post(
                "/api/users",
                json={"username": "intruder", "password": PASSWORD, "role": "admin"},
                headers=headers,
            ),
            api.client.put(f"/api/users/{target.id}", json={"role": "admin"}, headers=headers),
            api.client.delete(f"/api/users/{target.id}", headers=headers),
        ]
        assert [r.status_code for r in responses] == [403] * 5, role
        assert responses[0].json()["detail"] == "requires the admin role"
    assert api.client.get("/api/users").status_code == 401
    admin = api.account(Role.ADMIN)
    assert (
        api.client.get(f"/api/users/{target.id}", headers=admin.headers).json()["role"] == "member"
    )
    names = [
        u["username"]
        for u in api.client.get("/api/users?size=100", headers=admin.headers).json()["items"]
    ]
    assert "intruder" not in names


def test_me_answers_for_every_role(api: Api) -> None:
    for role in Role:
        account = api.account(role)
        response = api.client.get("/api/users/me", headers=account.headers)
        assert response.status_code == 200
        assert response.json()["id"] == account.id
        assert response.json()["username"] == account.username
        assert response.json()["role"] == role.value
        assert set(response.json()) == USER_FIELDS


def test_admins_create_read_update_and_delete_users(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = api.account(Role.ADMIN)
    password = "a brand new password"
    created = api.client.post(
        "/api/users",
        json={"username": "dana.k@example", "password": password, "role": "admin"},
        headers=admin.headers,
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) == USER_FIELDS
    assert (body["username"], body["role"]) == ("dana.k@example", "admin")
    assert password not in created.text
    assert "argon2" not in created.text

    # The new user signs in and is known to the API at once.
    login = api.client.post(
        "/api/auth/login", json={"username": "dana.k@example", "password": password}
    )
    dana = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert api.client.get("/api/users", headers=dana).status_code == 200

    fetched = api.client.get(f"/api/users/{body['id']}", headers=admin.headers)
    assert fetched.json() == body

    demoted = api.client.put(
        f"/api/users/{body['id']}", json={"role": "member"}, headers=admin.headers
    )
    assert demoted.status_code == 200
    assert demoted.json()["role"] == "member"
    # Her existing token follows the new role at once.
    assert api.client.get("/api/users", headers=dana).status_code == 403
    assert api.client.get("/api/users/me", headers=dana).json()["role"] == "member"

    assert api.client.delete(f"/api/users/{body['id']}", headers=admin.headers).status_code == 204
    assert api.client.get(f"/api/users/{body['id']}", headers=admin.headers).status_code == 404
    assert api.client.get("/api", headers=dana).status_code == 401
    assert password not in caplog.text


def test_bad_requests_are_refused_clearly(api: Api) -> None:
    admin = api.account(Role.ADMIN)
    existing = api.account()

    def post(body: dict[str, object]) -> httpx.Response:
        return api.client.post("/api/users", json=body, headers=admin.headers)

    duplicate = post({"username": existing.username, "password": PASSWORD})
    assert duplicate.status_code == 409
    assert existing.username in duplicate.json()["detail"]
    for body, code in [
        ({"username": "has space", "password": PASSWORD}, "invalid_username"),
        ({"username": "short-pw", "password": "1234567"}, "invalid_password"),
        ({"username": "bad-role", "password": PASSWORD, "role": "owner"}, "validation_error"),
        ({"username": "no-password"}, "validation_error"),
        ({"username": "x", "password": PASSWORD, "password_hash": "x"}, "validation_error"),
    ]:
        response = post(body)
        assert response.status_code == 422, body
        assert response.json()["code"] == code
        assert PASSWORD not in response.text
    headers = admin.headers
    assert api.client.get("/api/users/999999", headers=headers).status_code == 404
    assert (
        api.client.put("/api/users/999999", json={"role": "member"}, headers=headers).status_code
        == 404
    )
    assert api.client.delete("/api/users/999999", headers=headers).status_code == 404
    assert (
        api.client.put(
            f"/api/users/{existing.id}", json={"role": "root"}, headers=headers
        ).status_code
        == 422
    )
    assert api.client.put(f"/api/users/{existing.id}", json={}, headers=headers).status_code == 422


def test_the_list_is_paginated(api: Api) -> None:
    admin = api.account(Role.ADMIN)
    for _ in range(4):
        api.account()
    everyone = api.client.get("/api/users?size=100", headers=admin.headers).json()
    total = everyone["total"]
    assert total >= 5
    assert len(everyone["items"]) == min(total, 100)
    ids = [u["id"] for u in everyone["items"]]
    assert ids == sorted(ids)
    assert all(set(u) == USER_FIELDS for u in everyone["items"])

    seen: list[int] = []
    page = 1
    while True:
        body = api.client.get(f"/api/users?page={page}&size=2", headers=admin.headers).json()
        assert (body["page"], body["size"], body["total"]) == (page, 2, total)
        if not body["items"]:
            break
        assert len(body["items"]) <= 2
        seen += [u["id"] for u in body["items"]]
        page += 1
    assert seen == ids
    assert api.client.get("/api/users", headers=admin.headers).json()["size"] == 50
    for query in ("size=0", "size=101", "page=0", "page=x"):
        response = api.client.get(f"/api/users?{query}", headers=admin.headers)
        assert response.status_code == 422, query


def test_the_last_admin_can_be_neither_demoted_nor_deleted(backend: str, tmp_path: Path) -> None:
    with settings_on(backend, tmp_path) as settings, TestClient(create_app(settings)) as client:
        api = Api(client, settings)
        only = api.account(Role.ADMIN)
        for response in (
            client.put(f"/api/users/{only.id}", json={"role": "manager"}, headers=only.headers),
            client.delete(f"/api/users/{only.id}", headers=only.headers),
        ):
            assert response.status_code == 409
            assert response.json()["code"] == "last_admin"
            assert "last admin" in response.json()["detail"]
        # Staying Admin is no demotion.
        same = client.put(f"/api/users/{only.id}", json={"role": "admin"}, headers=only.headers)
        assert same.status_code == 200

        second = api.account(Role.ADMIN)
        demoted = client.put(f"/api/users/{only.id}", json={"role": "member"}, headers=only.headers)
        assert demoted.status_code == 200
        # The demoted user's own token lost its Admin rights with the change.
        assert client.get("/api/users", headers=only.headers).status_code == 403
        last = client.delete(f"/api/users/{second.id}", headers=second.headers)
        assert last.status_code == 409
        assert client.delete(f"/api/users/{only.id}", headers=second.headers).status_code == 204
        assert client.get("/api/users", headers=second.headers).json()["total"] == 1
