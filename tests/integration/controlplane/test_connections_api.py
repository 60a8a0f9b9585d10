"""The /api/connections endpoints end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text

from dqplatform.controlplane.app import create_app
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.connections import service
from dqplatform.controlplane.db.engine import create_db_engine
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.settings import Settings
from tests.conftest import SettingsFactory
from tests.helpers import bearer, token_for

pytestmark = pytest.mark.integration

PASSWORD = "pl41n-t3xt-Passw0rd!"
OTHER_PASSWORD = "an0ther-Secr3t-value"


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    return make_settings(database_url=database_url, broker_url="memory://")


@pytest.fixture
def tokens(settings: Settings) -> dict[Role, str]:
    return {role: token_for(settings, role.value, role) for role in Role}


@pytest.fixture
def client(settings: Settings, tokens: dict[Role, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "type": "postgresql",
        "name": "warehouse",
        "host": "db.internal",
        "port": 5432,
        "database": "sales",
        "username": "reader",
        "password": PASSWORD,
        "parameters": {"sslmode": "require", "connect_timeout": 5},
    }
    values.update(overrides)
    return values


def create(client: TestClient, token: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/connections", json=body(**overrides), headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


def stored_secrets(settings: Settings) -> list[tuple[int, str | None]]:
    engine = create_db_engine(settings)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, password_encrypted FROM connections"))
            return [(row[0], row[1]) for row in rows]
    finally:
        engine.dispose()


def test_lifecycle_keeps_the_password_encrypted_and_masked(
    client: TestClient,
    settings: Settings,
    tokens: dict[Role, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    manager, member = tokens[Role.MANAGER], tokens[Role.MEMBER]
    answers: list[Response] = []

    def call(method: str, url: str, token: str, **kwargs: Any) -> Response:
        response = client.request(method, url, headers=bearer(token), **kwargs)
        answers.append(response)
        return response

    created = call("POST", "/api/connections", manager, json=body(private=True))
    assert created.status_code == 201, created.text
    connection = created.json()
    assert connection["password"] == "********"
    assert {k: connection[k] for k in ("name", "type", "host", "port", "private")} == {
        "name": "warehouse",
        "type": "postgresql",
        "host": "db.internal",
        "port": 5432,
        "private": True,
    }
    assert connection["parameters"] == {"sslmode": "require", "connect_timeout": 5}
    cid = connection["id"]

    fetched = call("GET", f"/api/connections/{cid}", member)
    assert fetched.status_code == 200
    assert fetched.json() == connection
    listed = call("GET", "/api/connections", member)
    assert listed.json() == {"items": [connection], "total": 1, "page": 1, "size": 50}

    # The column holds a Fernet token of the password, not the password.
    [(_, token)] = stored_secrets(settings)
    assert token is not None and PASSWORD not in token
    box = SecretsBox.from_settings(settings)
    assert box.decrypt(token) == PASSWORD

    # A partial update leaves the password alone.
    renamed = call("PUT", f"/api/connections/{cid}", manager, json={"host": "db2.internal"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["host"] == "db2.internal"
    assert renamed.json()["password"] == "********"
    assert renamed.json()["database"] == "sales"
    assert renamed.json()["updated_at"] > connection["updated_at"]
    assert box.decrypt(stored_secrets(settings)[0][1] or "") == PASSWORD

    changed = call("PUT", f"/api/connections/{cid}", manager, json={"password": OTHER_PASSWORD})
    assert changed.status_code == 200
    assert box.decrypt(stored_secrets(settings)[0][1] or "") == OTHER_PASSWORD

    cleared = call("PUT", f"/api/connections/{cid}", manager, json={"password": None})
    assert cleared.json()["password"] is None
    assert stored_secrets(settings) == [(cid, None)]

    # Errors carrying a password in the request do not echo it either.
    call("POST", "/api/connections", manager, json=body(private=True))  # 409
    call("POST", "/api/connections", manager, json=body(name="x", port=0))  # 422
    call("POST", "/api/connections", manager, json=body(name="x", extra="y"))  # 422
    assert [r.status_code for r in answers[-3:]] == [409, 422, 422]

    deleted = call("DELETE", f"/api/connections/{cid}", manager)
    assert deleted.status_code == 204
    assert call("GET", f"/api/connections/{cid}", member).status_code == 404
    assert call("DELETE", f"/api/connections/{cid}", manager).status_code == 404

    for response in answers:
        assert PASSWORD not in response.text
        assert OTHER_PASSWORD not in response.text
    assert "warehouse" in caplog.text  # the logs do talk about the connection...
    assert PASSWORD not in caplog.text  # ...but never its password
    assert OTHER_PASSWORD not in caplog.text


def test_role_checks_on_every_endpoint(client: TestClient, tokens: dict[Role, str]) -> None:
    cid = create(client, tokens[Role.ADMIN])["id"]
    reads = [("GET", "/api/connections", None), ("GET", f"/api/connections/{cid}", None)]
    writes = [
        ("POST", "/api/connections", body(name="other")),
        ("PUT", f"/api/connections/{cid}", {"port": 6543}),
        ("DELETE", f"/api/connections/{cid}", None),
    ]
    for method, url, payload in reads + writes:
        anonymous = client.request(method, url, json=payload)
        assert anonymous.status_code == 401, (method, url)
        assert anonymous.json()["code"] == "not_authenticated"
    for method, url, payload in reads:
        response = client.request(method, url, json=payload, headers=bearer(tokens[Role.MEMBER]))
        assert response.status_code == 200, (method, url)
    for method, url, payload in writes:
        response = client.request(method, url, json=payload, headers=bearer(tokens[Role.MEMBER]))
        assert response.status_code == 403, (method, url)
        assert response.json()["detail"] == "requires the manager role"
    # Nothing changed behind the refusals.
    listed = client.get("/api/connections", headers=bearer(tokens[Role.MEMBER])).json()
    assert [(c["name"], c["port"]) for c in listed["items"]] == [("warehouse", 5432)]

    for role, name in ((Role.MANAGER, "by-manager"), (Role.ADMIN, "by-admin")):
        token = tokens[role]
        new = create(client, token, name=name)
        put = client.put(
            f"/api/connections/{new['id']}", json={"port": 6543}, headers=bearer(token)
        )
        assert put.status_code == 200 and put.json()["port"] == 6543
        assert (
            client.delete(f"/api/connections/{new['id']}", headers=bearer(token)).status_code == 204
        )


def test_list_pages_and_filters(client: TestClient, tokens: dict[Role, str]) -> None:
    manager, member = tokens[Role.MANAGER], tokens[Role.MEMBER]
    names = ["Sales EU", "sales us", "HR", "100%_real", "100 percent"]
    for index, name in enumerate(names):
        create(client, manager, name=name, type="mysql" if index % 2 else "postgresql")

    def listing(**params: Any) -> dict[str, Any]:
        response = client.get("/api/connections", params=params, headers=bearer(member))
        assert response.status_code == 200, response.text
        return response.json()

    def page_names(**params: Any) -> list[str]:
        return [item["name"] for item in listing(**params)["items"]]

    assert page_names() == names
    assert page_names(name="SALES") == ["Sales EU", "sales us"]
    assert page_names(name="les U") == ["sales us"]
    # '%' and '_' are plain characters in the filter, not wildcards.
    assert page_names(name="%_") == ["100%_real"]
    assert page_names(type="mysql") == ["sales us", "100%_real"]
    assert page_names(type="postgresql", name="sales") == ["Sales EU"]
    assert listing(name="nothing like it") == {"items": [], "total": 0, "page": 1, "size": 50}

    first = listing(page=1, size=2)
    assert [i["name"] for i in first["items"]] == names[:2]
    assert (first["total"], first["page"], first["size"]) == (5, 1, 2)
    assert page_names(page=3, size=2) == names[4:]
    assert listing(page=9, size=2) == {"items": [], "total": 5, "page": 9, "size": 2}
    assert listing(page=1, size=2, type="mysql")["total"] == 2

    for params in (
        {"size": 0},
        {"size": 101},
        {"size": 10**30},
        {"page": 0},
        {"page": "x"},
        {"type": "oracle"},
        {"name": "n" * 101},
    ):
        response = client.get("/api/connections", params=params, headers=bearer(member))
        assert response.status_code == 422, params
        assert response.json()["code"] == "validation_error"


BAD_BODIES: list[dict[str, Any]] = [
    {"extra": "field"},
    {"type": "oracle"},
    {"name": ""},
    {"name": "   "},
    {"name": "n" * 101},
    {"name": "tab\there"},
    {"host": "has space.example.com"},
    {"host": "h" * 254},
    {"host": ""},
    {"host": "bad_-.example..com"},
    {"host": "300.1.1.1"},
    {"port": 0},
    {"port": 65536},
    {"port": "5432"},
    {"port": True},
    {"private": "yes"},
    {"password": ""},
    {"password": "********"},
    {"password": "p" * 1025},
    {"parameters": {"nested": {"a": 1}}},
    {"parameters": {"none": None}},
    {"parameters": {"bad key": 1}},
    {"parameters": {f"k{i}": i for i in range(51)}},
]


def test_bad_input_is_a_422(client: TestClient, tokens: dict[Role, str]) -> None:
    for overrides in BAD_BODIES:
        response = client.post(
            "/api/connections", json=body(**overrides), headers=bearer(tokens[Role.MANAGER])
        )
        assert response.status_code == 422, (overrides, response.text)
        assert response.json()["code"] == "validation_error"
        assert PASSWORD not in response.text
    for missing in ("type", "name", "host"):
        incomplete = {k: v for k, v in body().items() if k != missing}
        response = client.post(
            "/api/connections", json=incomplete, headers=bearer(tokens[Role.MANAGER])
        )
        assert response.status_code == 422, missing
    listed = client.get("/api/connections", headers=bearer(tokens[Role.MEMBER])).json()
    assert listed["total"] == 0


def test_defaults_names_and_updates(client: TestClient, tokens: dict[Role, str]) -> None:
    manager = tokens[Role.MANAGER]
    minimal = client.post(
        "/api/connections",
        json={"type": "mariadb", "name": "  minimal  ", "host": "[FE80::0001]"},
        headers=bearer(manager),
    )
    assert minimal.status_code == 201, minimal.text
    made = minimal.json()
    assert (made["name"], made["host"], made["port"]) == ("minimal", "fe80::1", 3306)
    assert made["password"] is None and made["private"] is False and made["parameters"] == {}
    assert made["database"] is None and made["username"] is None

    other = create(client, manager, name="other")
    cid = made["id"]
    taken = client.put(f"/api/connections/{cid}", json={"name": "other"}, headers=bearer(manager))
    assert taken.status_code == 409
    assert taken.json()["code"] == "duplicate_name"
    # Renaming to its own name is no conflict; an empty body changes nothing.
    same = client.put(f"/api/connections/{cid}", json={"name": "minimal"}, headers=bearer(manager))
    assert same.status_code == 200 and same.json() == made
    assert client.put(f"/api/connections/{cid}", json={}, headers=bearer(manager)).json() == made

    for bad in ({"name": None}, {"host": None}, {"port": None}, {"nope": 1}, {"port": 70000}):
        response = client.put(f"/api/connections/{cid}", json=bad, headers=bearer(manager))
        assert response.status_code == 422, bad
    changed = client.put(
        f"/api/connections/{cid}",
        json={"type": "postgresql", "private": True, "parameters": {"a": True}, "database": "d"},
        headers=bearer(manager),
    ).json()
    assert (changed["type"], changed["port"], changed["private"]) == ("postgresql", 3306, True)
    assert changed["parameters"] == {"a": True} and changed["database"] == "d"
    unset = client.put(
        f"/api/connections/{cid}", json={"database": None}, headers=bearer(manager)
    ).json()
    assert unset["database"] is None

    for method in ("GET", "PUT", "DELETE"):
        for missing in (999_999, 2**31 - 1):
            response = client.request(
                method, f"/api/connections/{missing}", json={}, headers=bearer(manager)
            )
            assert response.status_code == 404, (method, missing)
        for silly in ("abc", "0", str(10**20)):
            response = client.request(
                method, f"/api/connections/{silly}", json={}, headers=bearer(manager)
            )
            assert response.status_code == 422, (method, silly)
    assert client.get(f"/api/connections/{other['id']}", headers=bearer(manager)).status_code == 200


def test_private_routes_follow_the_api(
    client: TestClient, settings: Settings, tokens: dict[Role, str]
) -> None:
    manager = tokens[Role.MANAGER]
    engine = create_db_engine(settings)

    def routes() -> list[str]:
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            return service.list_private_routes(session)

    try:
        assert routes() == []
        a = create(client, manager, name="a", host="hr-db.internal", port=3306, private=True)
        create(client, manager, name="b", host="HR-DB.internal", port=3306, private=True)
        create(client, manager, name="c", host="::1", port=5432, private=True)
        create(client, manager, name="d", host="public.example.com", private=False)
        assert routes() == ["[::1]:5432", "hr-db.internal:3306"]
        client.put(f"/api/connections/{a['id']}", json={"port": 3307}, headers=bearer(manager))
        assert routes() == ["[::1]:5432", "hr-db.internal:3306", "hr-db.internal:3307"]
    finally:
        engine.dispose()


def test_an_unusable_secrets_key_is_named_not_shown(make_settings: SettingsFactory) -> None:
    # The database plays no part here: SQLite only.
    settings = make_settings(broker_url="memory://", secrets_key="too-short-key")
    token = token_for(settings, "boss", Role.MANAGER)
    with TestClient(create_app(settings)) as client:
        response = client.post("/api/connections", json=body(), headers=bearer(token))
        assert response.status_code == 500
        assert response.json()["code"] == "secrets_key_invalid"
        assert "DQP_SECRETS_KEY" in response.json()["detail"]
        assert "too-short-key" not in response.text
        listed = client.get("/api/connections", headers=bearer(token))
        assert listed.json()["total"] == 0
