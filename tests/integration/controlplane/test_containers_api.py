"""Catalog and profile results stored, and /api/containers reading them, on SQLite and
PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.containers import service
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.errors import NotFound
from dqplatform.controlplane.profiles import service as profiles
from dqplatform.controlplane.profiles.models import FieldProfile
from dqplatform.controlplane.results import store_output
from dqplatform.messaging.operations import (
    CatalogResult,
    ContainerInfo,
    FieldInfo,
    ProfileResult,
)
from dqplatform.messaging.operations import (
    FieldProfile as Measured,
)
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    Api,
    error_locs,
    running_api,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


def container(name: str, kind: str = "table", count: int | None = 10, **fields: str) -> Any:
    return ContainerInfo(
        name=name,
        type=kind,  # type: ignore[arg-type]
        fields=[FieldInfo(name=f, type=t) for f, t in fields.items()],
        record_count=count,
    )


FIRST = CatalogResult(
    containers=[
        container("orders", id="int", amount="decimal(10,2)", note="string"),
        container("orders_view", "view", None, id="int"),
        container("customers", count=3, id="bigint", email="string"),
    ]
)


def containers_of(api: Api, datastore_id: int) -> list[dict[str, Any]]:
    page = api.get("/api/containers", params={"datastore": datastore_id, "size": 100}).json()
    assert page["total"] == len(page["items"])
    return list(page["items"])


def test_a_catalog_is_stored_once_and_read_back(api: Api) -> None:
    datastore = api.files_datastore()
    other = api.files_datastore()
    with api.session() as session:
        stored = service.store_catalog(session, datastore["id"], 101, FIRST)
        service.store_catalog(
            session, other["id"], 102, CatalogResult(containers=[FIRST.containers[0]])
        )
    assert (stored.added, stored.updated, stored.removed) == (3, 0, [])

    items = containers_of(api, datastore["id"])
    assert [(c["name"], c["type"], c["field_count"], c["record_count"]) for c in items] == [
        ("orders", "table", 3, 10),
        ("orders_view", "view", 1, None),
        ("customers", "table", 2, 3),
    ]
    assert {c["datastore_id"] for c in items} == {datastore["id"]}
    assert {c["last_operation_id"] for c in items} == {101}
    orders = items[0]
    assert api.get(f"/api/containers/{orders['id']}").json() == orders
    assert api.get(f"/api/containers/{orders['id']}/fields").json() == [
        {"name": "id", "type": "int"},
        {"name": "amount", "type": "decimal(10,2)"},
        {"name": "note", "type": "string"},
    ]
    assert [c["name"] for c in containers_of(api, other["id"])] == ["orders"]

    # The same result again (a second delivery of the operation): nothing new, same ids.
    with api.session() as session:
        again = service.store_catalog(session, datastore["id"], 101, FIRST)
    assert (again.added, again.updated, again.removed) == (0, 3, [])
    assert [c["id"] for c in containers_of(api, datastore["id"])] == [c["id"] for c in items]


def test_a_later_catalog_updates_adds_and_removes_what_vanished(api: Api) -> None:
    datastore = api.files_datastore()
    other = api.files_datastore()
    with api.session() as session:
        service.store_catalog(session, datastore["id"], 201, FIRST)
        service.store_catalog(session, other["id"], 202, FIRST)
    before = {c["name"]: c for c in containers_of(api, datastore["id"])}

    second = CatalogResult(
        containers=[
            container("orders", count=12, id="int", amount="double"),
            container("customers", count=3, id="bigint", email="string"),
            container("returns", "file", 4, id="int"),
        ]
    )
    with api.session() as session:
        stored = store_output(session, datastore["id"], 203, second)  # the dispatcher
    assert stored is None
    after = {c["name"]: c for c in containers_of(api, datastore["id"])}
    assert sorted(after) == ["customers", "orders", "returns"]
    # Known containers keep their ids; the view the catalog no longer found is gone.
    assert after["orders"]["id"] == before["orders"]["id"]
    assert (after["orders"]["record_count"], after["orders"]["last_operation_id"]) == (12, 203)
    assert api.get(f"/api/containers/{after['orders']['id']}/fields").json() == [
        {"name": "id", "type": "int"},
        {"name": "amount", "type": "double"},
    ]
    assert api.get(f"/api/containers/{before['orders_view']['id']}").status_code == 404
    assert after["returns"]["type"] == "file"
    # Another datastore's containers of the same names are untouched.
    assert len(containers_of(api, other["id"])) == 3

    # Without pruning, what was not found stays.
    with api.session() as session:
        kept = service.store_catalog(
            session, datastore["id"], 204, CatalogResult(containers=[]), prune=False
        )
    assert kept.removed == [] and len(containers_of(api, datastore["id"])) == 3
    with api.session() as session:
        emptied = service.store_catalog(session, datastore["id"], 205, CatalogResult(containers=[]))
    assert emptied.removed == ["customers", "orders", "returns"]
    assert containers_of(api, datastore["id"]) == []


def test_odd_names_and_an_unknown_datastore(api: Api) -> None:
    datastore = api.files_datastore()
    odd = CatalogResult(
        containers=[
            container("dir/sub/ünïcode file.csv", "file", 1, **{"a\x00b": "string"}),
            container("x" * 600, count=0),
            container("dup", count=1),
            container("dup", count=2),  # the last word wins
        ]
    )
    with api.session() as session:
        service.store_catalog(session, datastore["id"], 301, odd)
    items = {c["name"]: c for c in containers_of(api, datastore["id"])}
    assert sorted(items) == sorted(["dir/sub/ünïcode file.csv", "x" * 600, "dup"])
    assert items["dup"]["record_count"] == 2
    fields = api.get(f"/api/containers/{items['dir/sub/ünïcode file.csv']['id']}/fields")
    assert fields.json() == [{"name": "ab", "type": "string"}]  # NUL dropped

    with api.session() as session, pytest.raises(NotFound):
        service.store_catalog(session, 987_654, 302, FIRST)


def profile(container: str, field: str, **values: Any) -> Measured:
    base: dict[str, Any] = {
        "container": container,
        "field": field,
        "type": "int",
        "record_count": 100,
        "nulls": 0,
        "distinct": 100,
    }
    return Measured(**{**base, **values})


def stored_profiles(api: Api, operation_id: int) -> list[tuple[Any, ...]]:
    with api.session() as session:
        return [
            (p.id, p.container_name, p.field, p.nulls, p.distinct, p.min, p.max, p.mean)
            for p in profiles.profiles_of_operation(session, operation_id)
        ]


def test_profiles_are_replaced_per_operation_and_the_latest_is_shown(api: Api) -> None:
    datastore = api.files_datastore()
    with api.session() as session:
        service.store_catalog(session, datastore["id"], 400, FIRST)
    orders = next(c for c in containers_of(api, datastore["id"]) if c["name"] == "orders")
    url = f"/api/containers/{orders['id']}/field-profiles"
    assert api.get(url).json() == []

    first = ProfileResult(
        profiles=[
            profile("orders", "id", min="1", max="100", mean=50.5),
            profile("orders", "amount", type="decimal(10,2)", nulls=7, distinct=40, mean=2.25),
            profile("orders", "note", type="string", nulls=100, distinct=0, sampled=True),
            profile("customers", "id", record_count=3, distinct=3),
        ]
    )
    with api.session() as session:
        assert profiles.store_profile(session, datastore["id"], 401, first) == 4
    rows = stored_profiles(api, 401)
    assert [r[1:] for r in rows] == [
        ("orders", "id", 0, 100, "1", "100", 50.5),
        ("orders", "amount", 7, 40, None, None, 2.25),
        ("orders", "note", 100, 0, None, None, None),
        ("customers", "id", 0, 3, None, None, None),
    ]
    # Another attempt of the same operation replaces its rows rather than adding to them.
    with api.session() as session:
        store_output(session, datastore["id"], 401, first)
        store_output(session, datastore["id"], 401, first)
    again = stored_profiles(api, 401)
    assert [r[1:] for r in again] == [r[1:] for r in rows]
    with api.session() as session:
        total = session.scalar(
            select(func.count())
            .select_from(FieldProfile)
            .where(FieldProfile.datastore_id == datastore["id"])
        )
    assert total == 4

    # A later profile of one field: that field shows the new one, the others stay.
    later = ProfileResult(profiles=[profile("orders", "amount", type="double", nulls=1, mean=3.0)])
    with api.session() as session:
        profiles.store_profile(session, datastore["id"], 402, later)
    shown = api.get(url).json()
    assert [(p["field"], p["operation_id"]) for p in shown] == [
        ("amount", 402),
        ("id", 401),
        ("note", 401),
    ]
    amount = shown[0]
    assert (amount["type"], amount["nulls"], amount["mean"], amount["sampled"]) == (
        "double",
        1,
        3.0,
        False,
    )
    assert shown[2]["sampled"] is True
    assert {p["container_name"] for p in shown} == {"orders"}
    assert {p["datastore_id"] for p in shown} == {datastore["id"]}


def test_values_json_and_postgresql_cannot_hold_are_made_safe(api: Api) -> None:
    datastore = api.files_datastore()
    with api.session() as session:
        service.store_catalog(session, datastore["id"], 500, FIRST)
    odd = ProfileResult(
        profiles=[
            profile("orders", "id", mean=math.nan, min="a\x00b", max="z" * 10_000),
            profile("orders", "amount", mean=math.inf),
        ]
    )
    with api.session() as session:
        profiles.store_profile(session, datastore["id"], 501, odd)
    orders = next(c for c in containers_of(api, datastore["id"]) if c["name"] == "orders")
    shown = {
        p["field"]: p for p in api.get(f"/api/containers/{orders['id']}/field-profiles").json()
    }
    assert shown["id"]["mean"] is None and shown["amount"]["mean"] is None
    assert shown["id"]["min"] == "ab"
    assert shown["id"]["max"] == "z" * 4096


def test_deleting_the_datastore_deletes_its_containers_and_profiles(api: Api) -> None:
    datastore = api.files_datastore()
    with api.session() as session:
        service.store_catalog(session, datastore["id"], 600, FIRST)
        profiles.store_profile(
            session, datastore["id"], 601, ProfileResult(profiles=[profile("orders", "id")])
        )
    ids = [c["id"] for c in containers_of(api, datastore["id"])]
    deleted = api.call(Role.MANAGER, "DELETE", f"/api/datastores/{datastore['id']}")
    assert deleted.status_code == 204
    for container_id in ids:
        assert api.get(f"/api/containers/{container_id}").status_code == 404
    with api.session() as session:
        left = session.scalar(
            select(func.count()).select_from(Container).where(Container.id.in_(ids))
        )
        assert left == 0
        assert profiles.profiles_of_operation(session, 601) == []


def test_reads_need_a_member_and_pages_are_bounded(api: Api) -> None:
    datastore = api.files_datastore()
    many = CatalogResult(containers=[container(f"t{i:02d}") for i in range(7)])
    with api.session() as session:
        service.store_catalog(session, datastore["id"], 700, many)
    items = containers_of(api, datastore["id"])
    first = items[0]["id"]
    for path in (
        "/api/containers",
        f"/api/containers/{first}",
        f"/api/containers/{first}/fields",
        f"/api/containers/{first}/field-profiles",
    ):
        assert api.call(None, "GET", path).status_code == 401
        for role in Role:
            assert api.get(path, role=role).status_code == 200, (path, role)
        if path != "/api/containers":
            assert api.get(path.replace(str(first), "987654")).status_code == 404
            assert error_locs(api.get(path.replace(str(first), str(2**31)))) == [
                ["path", "container_id"]
            ]

    params: dict[str, Any] = {"datastore": datastore["id"], "size": 3}
    page = api.get("/api/containers", params={**params, "page": 3}).json()
    assert [c["name"] for c in page["items"]] == ["t06"]
    assert (page["total"], page["page"], page["size"]) == (7, 3, 3)
    assert api.get("/api/containers", params={**params, "page": 4}).json()["items"] == []
    named = api.get("/api/containers", params={"datastore": datastore["id"], "name": "T0"}).json()
    assert named["total"] == 7
    for bad in ({"size": 101}, {"page": 0}, {"datastore": 0}, {"datastore": "x"}):
        assert error_locs(api.get("/api/containers", params=bad)) == [["query", next(iter(bad))]]
    # Writes are not offered: containers come from catalog operations only.
    assert api.call(Role.ADMIN, "POST", "/api/containers", json={}).status_code == 405
