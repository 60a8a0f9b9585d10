"""/api/datastores end to end on SQLite and PostgreSQL, and the spec operations run on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.datastores import service
from dqplatform.controlplane.operations import service as operations
from dqplatform.controlplane.operations.schemas import OperationRun
from dqplatform.controlplane.secrets_box import SecretsBox
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    PASSWORD,
    Api,
    error_locs,
    running_api,
    unique,
)

pytestmark = pytest.mark.integration

MANAGER, MEMBER, ADMIN = Role.MANAGER, Role.MEMBER, Role.ADMIN


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


def test_lifecycle_of_a_jdbc_and_a_files_datastore(api: Api) -> None:
    tag = unique("life")
    connection = api.connection()

    created = api.call(
        MANAGER,
        "POST",
        "/api/datastores",
        json={"name": f"Sales {tag}", "kind": "jdbc", "connection_id": connection["id"]},
    )
    assert created.status_code == 201, created.text
    jdbc = created.json()
    assert {k: jdbc[k] for k in ("name", "kind", "connection_id", "database", "schema_name")} == {
        "name": f"Sales {tag}",
        "kind": "jdbc",
        "connection_id": connection["id"],
        "database": None,  # the connection's own
        "schema_name": "public",  # PostgreSQL's default schema, stated
    }
    assert jdbc["path"] is None and jdbc["file_format"] is None
    assert PASSWORD not in created.text

    files = api.files_datastore(
        f"landing_100% {tag}", path="/data/landing/../incoming/", file_format="parquet"
    )
    assert files["path"] == "/data/incoming"  # normalised
    assert files["connection_id"] is None and files["schema_name"] is None

    assert api.get(f"/api/datastores/{jdbc['id']}").json() == jdbc
    listed = api.get("/api/datastores", params={"name": tag}).json()
    assert listed == {"items": [jdbc, files], "total": 2, "page": 1, "size": 50}
    # name: a part of it, any case; '%' is itself, not a wildcard.
    by_name = api.get("/api/datastores", params={"name": f"SALES {tag.upper()}"}).json()
    assert [d["id"] for d in by_name["items"]] == [jdbc["id"]] and by_name["total"] == 1
    by_percent = api.get("/api/datastores", params={"name": f"100% {tag}"}).json()
    assert [d["id"] for d in by_percent["items"]] == [files["id"]]
    assert api.get("/api/datastores", params={"name": f"1000 {tag}"}).json()["total"] == 0
    by_kind = api.get("/api/datastores", params={"kind": "files", "name": tag}).json()
    assert [d["id"] for d in by_kind["items"]] == [files["id"]]
    assert error_locs(api.get("/api/datastores", params={"kind": "ftp"})) == [["query", "kind"]]

    # A partial update keeps the rest; the database override is set, then cleared.
    url = f"/api/datastores/{jdbc['id']}"
    changed = api.call(
        MANAGER,
        "PUT",
        url,
        json={"name": f"sales {tag}", "database": "sales_2024", "schema_name": "mart"},
    )
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("name", "database", "schema_name", "kind")} == {
        "name": f"sales {tag}",
        "database": "sales_2024",
        "schema_name": "mart",
        "kind": "jdbc",
    }
    assert changed.json()["updated_at"] >= jdbc["updated_at"]
    assert changed.json()["created_at"] == jdbc["created_at"]
    cleared = api.call(MANAGER, "PUT", url, json={"database": None}).json()
    assert cleared["database"] is None and cleared["name"] == f"sales {tag}"

    # Changing the kind drops the old kind's fields that the update does not set.
    to_files = api.call(
        MANAGER,
        "PUT",
        url,
        json={"kind": "files", "path": "/data/exports", "file_format": "csv"},
    )
    assert to_files.status_code == 200, to_files.text
    assert {k: to_files.json()[k] for k in ("connection_id", "database", "schema_name")} == {
        "connection_id": None,
        "database": None,
        "schema_name": None,
    }
    back = api.call(MANAGER, "PUT", url, json={"kind": "jdbc", "connection_id": connection["id"]})
    assert back.status_code == 200, back.text
    assert back.json()["path"] is None and back.json()["schema_name"] == "public"

    assert api.call(MANAGER, "DELETE", url).status_code == 204
    missing = api.get(url)
    assert missing.json() == {
        "status": 404,
        "code": "not_found",
        "detail": f"no datastore with id {jdbc['id']}",
    }
    assert api.call(MANAGER, "DELETE", url).status_code == 404
    assert api.call(MANAGER, "PUT", url, json={"name": "x"}).status_code == 404


# (body, the `loc` of an error it must get)
INVALID_BODIES: list[tuple[dict[str, Any], list[Any]]] = [
    ({"name": "x", "kind": "jdbc"}, ["body"]),  # no connection
    ({"name": "x", "kind": "files", "path": "/data"}, ["body"]),  # no format
    ({"name": "x", "kind": "files", "file_format": "csv"}, ["body"]),  # no path
    ({"name": "x", "kind": "files", "path": "data/x", "file_format": "csv"}, ["body", "path"]),
    ({"name": "x", "kind": "files", "path": "/d", "file_format": "xlsx"}, ["body", "file_format"]),
    ({"name": "x", "kind": "files", "path": "/d", "file_format": "csv", "database": "d"}, ["body"]),
    ({"name": "x", "kind": "jdbc", "connection_id": 1, "path": "/data"}, ["body"]),
    ({"name": "x", "kind": "ftp"}, ["body", "kind"]),
    ({"name": "   ", "kind": "files", "path": "/d", "file_format": "csv"}, ["body", "name"]),
    ({"name": "x" * 101, "kind": "files", "path": "/d", "file_format": "csv"}, ["body", "name"]),
    ({"name": "x", "kind": "jdbc", "connection_id": "1"}, ["body", "connection_id"]),
    ({"name": "x", "kind": "jdbc", "connection_id": 0}, ["body", "connection_id"]),
    ({"name": "x", "kind": "jdbc", "connection_id": 1, "colour": "red"}, ["body", "colour"]),
    ({"name": "x", "kind": "files", "path": "/d\n", "file_format": "csv"}, ["body", "path"]),
    ({"kind": "files", "path": "/d", "file_format": "csv"}, ["body", "name"]),
]


def test_bodies_that_do_not_describe_a_datastore_are_422(api: Api) -> None:
    before = api.get("/api/datastores").json()["total"]
    for body, loc in INVALID_BODIES:
        response = api.call(MANAGER, "POST", "/api/datastores", json=body)
        assert loc in error_locs(response), (body, response.text)
    # Not JSON at all: the same body shape.
    garbage = api.call(
        MANAGER,
        "POST",
        "/api/datastores",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert error_locs(garbage)
    assert api.get("/api/datastores").json()["total"] == before


def test_the_connection_decides_what_a_jdbc_datastore_may_say(api: Api) -> None:
    mysql = api.connection(type="mysql", port=3306)
    bare = api.connection(database=None)

    unknown = api.call(
        MANAGER,
        "POST",
        "/api/datastores",
        json={"name": unique("x"), "kind": "jdbc", "connection_id": 424242},
    )
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no connection with id 424242"

    # MySQL has no schemas inside a database.
    schema = api.call(
        MANAGER,
        "POST",
        "/api/datastores",
        json={
            "name": unique("x"),
            "kind": "jdbc",
            "connection_id": mysql["id"],
            "schema_name": "s",
        },
    )
    assert error_locs(schema) == [["body", "schema_name"]]
    on_mysql = api.datastore(name=unique("shop"), kind="jdbc", connection_id=mysql["id"])
    assert on_mysql["schema_name"] is None

    # A database must come from the datastore or its connection.
    nowhere = api.call(
        MANAGER,
        "POST",
        "/api/datastores",
        json={"name": unique("y"), "kind": "jdbc", "connection_id": bare["id"]},
    )
    assert error_locs(nowhere) == [["body", "database"]]
    assert "names no database" in nowhere.json()["errors"][0]["msg"]
    api.datastore(name=unique("y"), kind="jdbc", connection_id=bare["id"], database="inventory")

    # The same rules hold for the result of an update, and a refused one changes nothing.
    url = f"/api/datastores/{on_mysql['id']}"
    assert error_locs(api.call(MANAGER, "PUT", url, json={"schema_name": "s"})) == [
        ["body", "schema_name"]
    ]
    assert api.call(MANAGER, "PUT", url, json={"connection_id": 424242}).status_code == 404
    moved = api.call(MANAGER, "PUT", url, json={"connection_id": bare["id"]})
    assert error_locs(moved) == [["body", "database"]]
    assert ["body"] in error_locs(api.call(MANAGER, "PUT", url, json={"kind": "files"}))
    assert error_locs(api.call(MANAGER, "PUT", url, json={"name": None})) == [["body"]]
    assert error_locs(api.call(MANAGER, "PUT", url, json={"path": "/x"})) == [["body"]]
    assert api.get(url).json() == on_mysql


def test_names_are_unique(api: Api) -> None:
    name = unique("landing")
    first = api.files_datastore(name)
    second = api.files_datastore()
    again = api.call(
        MANAGER,
        "POST",
        "/api/datastores",
        json={"name": name, "kind": "files", "path": "/x", "file_format": "csv"},
    )
    assert again.status_code == 409
    assert again.json() == {
        "status": 409,
        "code": "duplicate_name",
        "detail": f"a datastore named {name!r} already exists",
    }
    renamed = api.call(MANAGER, "PUT", f"/api/datastores/{second['id']}", json={"name": name})
    assert renamed.status_code == 409
    # Renaming a datastore to its own name is no conflict.
    same = api.call(MANAGER, "PUT", f"/api/datastores/{first['id']}", json={"name": name})
    assert same.status_code == 200


def test_roles(api: Api) -> None:
    datastore = api.files_datastore()
    url = f"/api/datastores/{datastore['id']}"
    calls: list[tuple[str, str, Any, Role, int]] = [
        ("GET", "/api/datastores", None, MEMBER, 200),
        ("GET", url, None, MEMBER, 200),
        ("POST", "/api/datastores", "new", MANAGER, 201),
        ("PUT", url, {"path": "/q"}, MANAGER, 200),
        ("POST", f"{url}/connection", None, MANAGER, 409),  # files: nothing to test
        ("DELETE", url, None, MANAGER, 204),
    ]
    for method, path, body, least, allowed in calls:

        def payload(body: Any = body) -> Any:
            if body == "new":  # a new name each time
                return {"name": unique("n"), "kind": "files", "path": "/p", "file_format": "csv"}
            return body

        assert api.call(None, method, path, json=payload()).status_code == 401, (method, path)
        bad = api.client.request(
            method, path, json=payload(), headers={"Authorization": "Bearer not.a.token"}
        )
        assert bad.status_code == 401
        for role in Role:
            if not role.allows(least):
                response = api.call(role, method, path, json=payload())
                assert response.status_code == 403, (method, path, role)
                assert response.json()["detail"] == f"requires the {least} role"
        if method != "DELETE":
            # An Admin may do what a Manager may.
            response = api.call(ADMIN, method, path, json=payload())
            assert response.status_code == allowed, (method, path, response.text)
        response = api.call(least, method, path, json=payload())
        assert response.status_code == allowed, (method, path, response.text)


def test_pagination_bounds(api: Api) -> None:
    tag = unique("page")
    ids = [api.files_datastore(f"{tag}-{i}")["id"] for i in range(5)]
    page = api.get("/api/datastores", params={"page": 2, "size": 2, "name": tag}).json()
    assert [d["id"] for d in page["items"]] == ids[2:4]
    assert (page["total"], page["page"], page["size"]) == (5, 2, 2)
    last = api.get("/api/datastores", params={"page": 3, "size": 2, "name": tag}).json()
    assert [d["id"] for d in last["items"]] == ids[4:]
    past = api.get("/api/datastores", params={"page": 9, "size": 2, "name": tag}).json()
    assert past["items"] == [] and past["total"] == 5
    full = api.get("/api/datastores", params={"size": 100, "name": tag}).json()
    assert [d["id"] for d in full["items"]] == ids
    for params in ({"page": 0}, {"size": 0}, {"size": 101}, {"page": "one"}, {"page": 10**7}):
        response = api.get("/api/datastores", params=params)
        assert error_locs(response) == [["query", next(iter(params))]]
    assert error_locs(api.get(f"/api/datastores/{2**31}")) == [["path", "datastore_id"]]
    assert error_locs(api.get("/api/datastores/0")) == [["path", "datastore_id"]]


def test_a_connection_used_by_a_datastore_cannot_be_deleted(api: Api) -> None:
    connection = api.connection()
    name = unique("sales")
    datastore = api.datastore(name=name, kind="jdbc", connection_id=connection["id"])
    refused = api.call(MANAGER, "DELETE", f"/api/connections/{connection['id']}")
    assert refused.status_code == 409
    assert refused.json()["code"] == "connection_in_use"
    assert f"datastore {name!r}" in refused.json()["detail"]
    assert api.call(MANAGER, "DELETE", f"/api/datastores/{datastore['id']}").status_code == 204
    assert api.call(MANAGER, "DELETE", f"/api/connections/{connection['id']}").status_code == 204


def test_a_used_datastore_cannot_be_deleted_and_a_deleted_one_takes_its_data(api: Api) -> None:
    kept = api.files_datastore(unique("kept"))
    gone = api.files_datastore(unique("gone"))
    for datastore in (kept, gone):
        container = api.container(datastore["id"], "orders.csv", {"id": "int"}, type="file")
        body = {"container_id": container, "fields": ["id"], "rule": "notNull"}
        response = api.call(MANAGER, "POST", "/api/quality-checks", json=body)
        assert response.status_code == 201, response.text

    # An operation that has not ended (queued: no dataplane runs here) keeps its datastore.
    with api.session() as session:
        run = OperationRun(type="profile", datastore_id=kept["id"])
        operation_id = operations.create_operation(session, run, "manager").id
    refused = api.call(MANAGER, "DELETE", f"/api/datastores/{kept['id']}")
    assert refused.status_code == 409
    assert refused.json() == {
        "status": 409,
        "code": "datastore_in_use",
        "detail": f"datastore {kept['name']!r} is used by operation {operation_id}",
    }
    assert api.call(MANAGER, "DELETE", f"/api/datastores/{gone['id']}").status_code == 204
    with api.session() as session:
        counts = dict(
            session.execute(
                select(QualityCheck.datastore_id, func.count())
                .where(QualityCheck.datastore_id.in_([kept["id"], gone["id"]]))
                .group_by(QualityCheck.datastore_id)
            ).all()
        )
        assert counts == {kept["id"]: 1}
    assert api.get(f"/api/datastores/{kept['id']}").status_code == 200


def test_datastore_spec_carries_what_the_dataplane_needs(api: Api) -> None:
    pg = api.connection(parameters={"sslmode": "disable", "connect_timeout": 5})
    mysql = api.connection(type="mysql", port=3307, password=None)
    on_pg = api.datastore(name=unique("pg"), kind="jdbc", connection_id=pg["id"])
    override = api.datastore(
        name=unique("pg"),
        kind="jdbc",
        connection_id=pg["id"],
        database="archive",
        schema_name="mart",
    )
    on_mysql = api.datastore(name=unique("my"), kind="jdbc", connection_id=mysql["id"])
    files = api.files_datastore()
    box = SecretsBox.from_settings(api.settings)

    def spec(session: Session, datastore: dict[str, Any]) -> Any:
        row = service.require_datastore(session, datastore["id"])
        return service.datastore_spec(session, row, box)

    with api.session() as session:
        first = spec(session, on_pg)
        assert (first.kind, first.connection_type, first.host, first.port) == (
            "jdbc",
            "postgresql",
            "127.0.0.1",
            5432,
        )
        assert (first.database, first.schema_name, first.username) == ("sales", "public", "reader")
        assert first.parameters == {"sslmode": "disable", "connect_timeout": 5}
        # The password is decrypted for the wire, and only there.
        assert first.password is not None and first.password.get_secret_value() == PASSWORD
        assert PASSWORD not in repr(first)
        assert json.loads(first.model_dump_json())["password"] == PASSWORD

        second = spec(session, override)
        assert (second.database, second.schema_name) == ("archive", "mart")

        third = spec(session, on_mysql)
        assert (third.connection_type, third.port, third.database) == ("mysql", 3307, "sales")
        assert third.schema_name is None and third.password is None

        fourth = spec(session, files)
        assert (fourth.kind, fourth.path, fourth.file_format) == ("files", "/data/landing", "csv")
        assert fourth.host is None and fourth.password is None

    # The connection loses its database after the datastore was made: refused, clearly.
    put = api.call(MANAGER, "PUT", f"/api/connections/{pg['id']}", json={"database": None})
    assert put.status_code == 200, put.text
    with api.session() as session:
        with pytest.raises(service.DatastoreIncomplete) as caught:
            spec(session, on_pg)
        assert caught.value.status_code == 409
        assert "names no database" in caught.value.message
        assert spec(session, override).database == "archive"
