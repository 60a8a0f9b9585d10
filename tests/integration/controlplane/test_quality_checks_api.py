"""/api/quality-checks, check templates and the checks a scan gets, on SQLite and
PostgreSQL, in the shapes qualytics-cli 1.2.2 sends and reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from dqplatform.controlplane.anomalies.models import Anomaly
from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.checks.patterns import check_pattern
from dqplatform.controlplane.checks.scan import checks_for
from dqplatform.controlplane.checks.validation import parse_condition, referenced_columns
from dqplatform.controlplane.containers.models import Container
from dqplatform.controlplane.secrets_box import SecretsBox
from dqplatform.messaging.operations import CheckSpec
from dqplatform.messaging.rules import RuleType
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    PASSWORD,
    Api,
    error_locs,
    running_api,
    unique,
)

pytestmark = pytest.mark.integration

MANAGER, MEMBER = Role.MANAGER, Role.MEMBER
ORDERS = {"id": "int", "Customer_ID": "int", "amount": "double", "status": "string"}
CUSTOMERS = {"id": "int", "email": "string"}
URL = "/api/quality-checks"


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


class Place:
    """A datastore with two catalogued containers, orders and customers."""

    def __init__(self, api: Api) -> None:
        self.datastore = api.files_datastore()["id"]
        self.orders = api.container(self.datastore, "orders", ORDERS)
        self.customers = api.container(self.datastore, "customers", CUSTOMERS)


@pytest.fixture
def place(api: Api) -> Place:
    return Place(api)


def post(api: Api, body: dict[str, Any], url: str = URL) -> Any:
    return api.call(MANAGER, "POST", url, json=body)


def created(api: Api, container_id: int, rule: str, /, **extra: Any) -> dict[str, Any]:
    response = post(api, {"container_id": container_id, "rule": rule, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def messages(response: Any) -> str:
    error_locs(response)
    return " | ".join(error["msg"] for error in response.json()["errors"])


def test_a_check_in_the_clients_shape(api: Api, place: Place) -> None:
    body = {
        "container_id": place.orders,
        "rule": "between",
        "description": "amounts in range",
        "fields": ["AMOUNT"],  # Spark resolves names ignoring case: stored as catalogued
        "coverage": 0.95,
        "filter": "status <> 'void' AND customer_id IS NOT NULL",
        "properties": {"min": 0, "max": 100, "inclusive_max": False},
        "tags": ["finance", "dbt", "finance"],
        "additional_metadata": {"_qualytics_check_uid": "orders__between__amount", "n": [1]},
        "status": "Draft",
        "anomaly_message_field": "id",
        "owner_id": 7,
        "default_anomaly_assignee_id": 8,
        "weight": 3,  # not acted on here: kept and echoed, never a 422
        "nested": {"a": [1, 2]},
    }
    check = post(api, body)
    assert check.status_code == 201, check.text
    got = check.json()
    assert {k: got[k] for k in ("rule_type", "container", "fields", "coverage", "filter")} == {
        "rule_type": "between",
        "container": {"id": place.orders, "name": "orders"},
        "fields": [{"name": "amount", "type": "double"}],
        "coverage": 0.95,
        "filter": "status <> 'void' AND customer_id IS NOT NULL",
    }
    assert got["properties"] == {
        "min": 0.0,
        "max": 100.0,
        "inclusive_min": True,
        "inclusive_max": False,
    }
    assert got["global_tags"] == [{"name": "finance"}, {"name": "dbt"}]
    assert got["additional_metadata"] == body["additional_metadata"]
    assert (got["status"], got["archived"], got["anomaly_count"]) == ("Draft", None, 0)
    assert (got["owner_id"], got["default_anomaly_assignee_id"]) == (7, 8)
    assert (got["weight"], got["nested"]) == (3, {"a": [1, 2]})
    assert got["datastore_id"] == place.datastore and got["is_template"] is False
    assert api.get(f"{URL}/{got['id']}").json() == got

    # Our old snake_case names are aliases, stored under the camelCase name.
    legacy = created(api, place.orders, "not_null", fields=["id", "status"])
    assert (legacy["rule_type"], legacy["properties"], legacy["status"]) == (
        "notNull",
        {},
        "Active",
    )
    # rule_type is read as rule too (the portable YAML's name).
    by_rule_type = post(
        api, {"container_id": place.orders, "rule_type": "unique", "fields": ["id"]}
    )
    assert by_rule_type.json()["rule_type"] == "unique"
    volumetric = created(
        api,
        place.orders,
        "volumetric",
        coverage=1.0,  # the client's default: "all records", what a shape rule judges anyway
        properties={"comparison": "Absolute Value", "min": 1},
    )
    assert (volumetric["fields"], volumetric["coverage"]) == ([], None)
    exists = created(
        api,
        place.orders,
        "existsIn",
        fields=["customer_id"],
        properties={"ref_container_id": place.customers, "field_name": "ID"},
    )
    assert exists["fields"] == [{"name": "Customer_ID", "type": "int"}]
    assert exists["properties"] == {
        "ref_container_id": place.customers,
        "ref_datastore_id": None,
        "ref_filter": None,
        "field_name": "id",
    }
    expression = created(
        api, place.orders, "satisfiesExpression", properties={"expression": "amount >= 0"}
    )
    assert expression["fields"] == []


def test_bad_definitions_are_422_naming_the_problem(api: Api, place: Place) -> None:
    uncatalogued = api.container(place.datastore, "later", {})
    o = place.orders
    cases: list[tuple[dict[str, Any], list[Any], str]] = [
        ({"rule": "sometimes", "fields": ["id"]}, ["body", "rule"], "unknown rule 'sometimes'"),
        ({"rule": "notNull", "fields": ["nope"]}, ["body", "fields", 0], "no field 'nope'"),
        ({"rule": "notNull", "fields": []}, ["body", "fields"], "one field or more"),
        ({"rule": "between", "fields": ["id", "amount"], "properties": {"min": 0, "max": 1}},
         ["body", "fields"], "exactly one field"),
        ({"rule": "volumetric", "fields": ["id"],
          "properties": {"comparison": "Absolute Value", "min": 1}},
         ["body", "fields"], "takes no fields"),
        ({"rule": "between", "fields": ["amount"], "properties": {"min": "low", "max": 2}},
         ["body", "properties", "min"], "between min"),
        ({"rule": "between", "fields": ["amount"], "properties": {"min": 5, "max": 1}},
         ["body", "properties"], "greater than max"),
        ({"rule": "between", "fields": ["amount"], "properties": {"min": 1, "max": 2, "step": 1}},
         ["body", "properties", "step"], "step"),
        ({"rule": "matchesPattern", "fields": ["status"], "properties": {"pattern": "([a-z"}},
         ["body", "properties", "pattern"], "not a valid regular expression"),
        ({"rule": "notNull", "fields": ["id"], "filter": "WHERE amount > 1"},
         ["body", "filter"], "not valid Spark SQL"),
        ({"rule": "notNull", "fields": ["id"], "filter": "amount >"},
         ["body", "filter"], "not valid Spark SQL"),
        ({"rule": "notNull", "fields": ["id"], "filter": "amount > 1; DROP TABLE orders"},
         ["body", "filter"], "several statements"),
        ({"rule": "notNull", "fields": ["id"], "filter": "SELECT 1"},
         ["body", "filter"], "not a statement"),
        ({"rule": "notNull", "fields": ["id"], "filter": "discount > 1"},
         ["body", "filter"], "reads field 'discount'"),
        ({"rule": "volumetric", "filter": "id > 1",
          "properties": {"comparison": "Absolute Value", "min": 1}},
         ["body", "filter"], "does not take a filter"),
        ({"rule": "distinctCount", "fields": ["id"], "coverage": 0.5, "properties": {"value": 2}},
         ["body", "coverage"], "does not take a coverage"),
        ({"rule": "notNull", "fields": ["id"], "coverage": 1.5},
         ["body", "coverage"], "between 0 and 1"),
        ({"rule": "existsIn", "fields": ["id"],
          "properties": {"ref_container_id": 987_654, "field_name": "id"}},
         ["body", "properties", "ref_container_id"], "no container with id 987654"),
        ({"rule": "existsIn", "fields": ["id"],
          "properties": {"ref_container_id": place.customers, "field_name": "nope"}},
         ["body", "properties", "field_name"], "'customers' has no field 'nope'"),
        ({"rule": "greaterThanField", "fields": ["id"], "properties": {"field_name": "nope"}},
         ["body", "properties", "field_name"], "'orders' has no field 'nope'"),
        ({"rule": "satisfiesExpression", "properties": {"expression": "amont > 0"}},
         ["body", "properties", "expression"], "reads field 'amont'"),
        ({"rule": "notNull", "fields": ["id"], "container_id": uncatalogued},
         ["body", "container_id"], "has not been catalogued yet"),
        ({"rule": "notNull", "fields": ["id"], "container_id": 987_654},
         ["body", "container_id"], "no container with id 987654"),
        ({"rule": "notNull", "fields": ["id"], "status": "Sleeping"}, ["body", "status"], ""),
        ({"rule": "notNull", "fields": ["id"], "coverage": "most"}, ["body", "coverage"], ""),
    ]  # fmt: skip
    before = api.get(URL, params={"datastore": place.datastore}).json()["total"]
    for extra, loc, text in cases:
        response = post(api, {"container_id": o, **extra})
        assert loc in error_locs(response), (extra, response.text)
        assert text in messages(response), (extra, response.text)
    after = api.get(URL, params={"datastore": place.datastore, "archived": "include"}).json()
    assert after["total"] == before == 0


def test_update_archive_restore_and_delete(api: Api, place: Place) -> None:
    check = created(api, place.orders, "notNull", fields=["id"], tags=["a"], description="d")
    url = f"{URL}/{check['id']}"
    # The client's `checks update` body: the whole portable definition, no rule.
    body = {
        "description": "ids are set",
        "fields": ["id", "amount"],
        "coverage": 0.99,
        "filter": "amount > 0",
        "properties": {},
        "tags": ["b"],
        "additional_metadata": {"k": "v"},
        "status": "Active",
        "later_field": True,
    }
    changed = api.call(MANAGER, "PUT", url, json=body)
    assert changed.status_code == 200, changed.text
    got = changed.json()
    assert [f["name"] for f in got["fields"]] == ["id", "amount"]
    assert (got["description"], got["coverage"], got["filter"]) == (
        "ids are set",
        0.99,
        "amount > 0",
    )
    assert (got["global_tags"], got["additional_metadata"]) == ([{"name": "b"}], {"k": "v"})
    assert got["later_field"] is True and got["created"] == check["created"]
    # A partial body keeps the rest; a definition that no longer fits is refused.
    partial = api.call(MANAGER, "PUT", url, json={"description": "only this"}).json()
    assert (partial["description"], partial["coverage"]) == ("only this", 0.99)
    assert "no field 'x'" in messages(api.call(MANAGER, "PUT", url, json={"fields": ["x"]}))
    assert "exactly one field" in messages(
        api.call(MANAGER, "PUT", url, json={"rule": "between", "properties": {"min": 0, "max": 1}})
    )
    retyped = api.call(
        MANAGER, "PUT", url,
        json={"rule": "matchesPattern", "fields": ["status"], "properties": {"pattern": "^[A-Z]"}},
    )  # fmt: skip
    assert retyped.status_code == 200, retyped.text
    assert retyped.json()["rule_type"] == "matchesPattern"

    # Archive (the client's default DELETE) keeps the check, readable.
    params = {"archive": "true", "status": "Invalid", "delete_anomalies": "false"}
    assert api.call(MANAGER, "DELETE", url, params=params).status_code == 204
    archived = api.get(url).json()
    assert (archived["status"], archived["archive_status"]) == ("Archived", "Invalid")
    assert archived["archived"] is not None
    listed = lambda **p: [  # noqa: E731
        c["id"] for c in api.get(URL, params={"datastore": place.datastore, **p}).json()["items"]
    ]
    assert check["id"] not in listed()
    assert check["id"] in listed(archived="only") and check["id"] in listed(archived="include")
    # An update that carries "Archived" (what `checks update` reads back) keeps it archived...
    kept = api.call(MANAGER, "PUT", url, json={"status": "Archived", "description": "x"}).json()
    assert (kept["status"], kept["description"]) == ("Archived", "x")
    # ... and the client's `activate` (PUT status Active) restores it.
    restored = api.call(MANAGER, "PUT", url, json={"status": "Active"}).json()
    assert (restored["status"], restored["archived"], restored["archive_status"]) == (
        "Active", None, None,
    )  # fmt: skip

    # archive=false deletes; its anomalies stay, unlinked.
    anomaly = _anomaly(api, place, check["id"])
    assert api.call(MANAGER, "DELETE", url, params={"archive": "false"}).status_code == 204
    assert api.get(url).status_code == 404
    assert api.call(MANAGER, "DELETE", url).status_code == 404
    assert api.call(MANAGER, "PUT", url, json={"description": "x"}).status_code == 404
    with api.session() as session:
        row = session.get(Anomaly, anomaly)
        assert row is not None and row.check_id is None


def _anomaly(api: Api, place: Place, check_id: int, status: str = "Active") -> int:
    with api.session() as session:
        row = Anomaly(
            operation_id=1,
            last_operation_id=1,
            datastore_id=place.datastore,
            check_id=check_id,
            container="orders",
            fields=["id"],
            rule="notNull",
            type="record",
            records=10,
            failed_records=1,
            sample_rows=[],
            message="1 record failed",
            fingerprint=unique("fp"),
            status=status,
        )
        session.add(row)
        session.flush()
        return row.id


def test_archiving_with_delete_anomalies_archives_them_and_deletes_nothing(
    api: Api, place: Place
) -> None:
    check = created(api, place.orders, "notNull", fields=["id"])
    open_ids = [_anomaly(api, place, check["id"], s) for s in ("Active", "Acknowledged")]
    resolved = _anomaly(api, place, check["id"], "Resolved")
    assert api.get(f"{URL}/{check['id']}").json()["anomaly_count"] == 2
    # The client's `checks delete --id`: archive=true, status=Discarded, delete_anomalies=true.
    params = {"archive": "true", "status": "Discarded", "delete_anomalies": "true"}
    assert api.call(MANAGER, "DELETE", f"{URL}/{check['id']}", params=params).status_code == 204
    with api.session() as session:
        rows = {
            a.id: (a.status, a.archived_at is not None)
            for a in session.scalars(select(Anomaly).where(Anomaly.check_id == check["id"]))
        }
    assert rows == {
        open_ids[0]: ("Discarded", True),
        open_ids[1]: ("Discarded", True),
        resolved: ("Resolved", False),
    }
    body = api.get(f"{URL}/{check['id']}").json()
    assert (body["status"], body["archive_status"], body["anomaly_count"]) == (
        "Archived", "Discarded", 0,
    )  # fmt: skip


def test_bulk_delete(api: Api, place: Place) -> None:
    a, b, c = (created(api, place.orders, "notNull", fields=["id"])["id"] for _ in range(3))
    # One unknown id: 404 naming it, and nothing changed.
    refused = api.call(MANAGER, "DELETE", URL, json=[{"id": a}, {"id": 987_654}])
    assert refused.status_code == 404 and "987654" in refused.json()["detail"]
    assert api.get(f"{URL}/{a}").json()["status"] == "Active"
    items = [{"id": a, "archive": True}, {"id": b}, {"id": c, "archive": False}]
    assert api.call(MANAGER, "DELETE", URL, json=items).status_code == 204
    assert api.get(f"{URL}/{a}").json()["status"] == "Archived"
    assert api.get(f"{URL}/{b}").json()["status"] == "Archived"
    assert api.get(f"{URL}/{c}").status_code == 404
    assert error_locs(api.call(MANAGER, "DELETE", URL, json=[{"archive": True}])) == [
        ["body", 0, "id"]
    ]


def test_list_filters(api: Api, place: Place) -> None:
    ds = place.datastore
    a = created(api, place.orders, "notNull", fields=["id"], tags=["gold", "ü-tag"])["id"]
    b = created(api, place.orders, "unique", fields=["id"], tags=["silver"], status="Draft")["id"]
    c = created(api, place.customers, "notNull", fields=["email"], tags=["gold_x"])["id"]
    d = created(api, place.customers, "unique", fields=["email"])["id"]
    api.call(MANAGER, "DELETE", f"{URL}/{d}")
    other = Place(api)
    created(api, other.orders, "notNull", fields=["id"])

    def ids(**params: Any) -> list[int]:
        response = api.get(URL, params={"datastore": ds, **params})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids() == [a, b, c]
    assert ids(container=[place.orders]) == [a, b]
    assert ids(container=[place.orders, place.customers]) == [a, b, c]
    assert ids(container=[987_654]) == []
    assert ids(tag=["gold"]) == [a]  # a tag matches whole, not as a part of gold_x
    assert ids(tag=["silver", "gold_x"]) == [b, c]
    assert ids(tag=["ü-tag"]) == [a]
    assert ids(status="Draft") == [b]
    assert ids(archived="only") == [d]
    assert ids(archived="include") == [a, b, c, d]
    assert ids(rule_type=["unique"]) == [b]
    assert ids(rule=["not_null"]) == [a, c]
    page = api.get(URL, params={"datastore": ds, "size": 2, "page": 2}).json()
    assert (page["items"][0]["id"], page["total"], page["page"], page["size"]) == (c, 3, 2, 2)
    for bad in ({"size": 101}, {"page": 0}, {"datastore": 0}, {"archived": "maybe"},
                {"status": "Sleeping"}, {"rule_type": "maybe"}):  # fmt: skip
        assert error_locs(api.get(URL, params=bad)) == [["query", next(iter(bad))]], bad


def test_templates(api: Api, place: Place) -> None:
    # The client's `import-templates` body: no container, no fields.
    body = {
        "description": "positive amounts",
        "rule": "between",
        "coverage": None,
        "filter": None,
        "properties": {"min": 0, "max": 10},
        "tags": ["tpl"],
        "template_locked": True,
        "additional_metadata": {"from quality check id": "12"},
    }
    response = post(api, body, "/api/quality-check-templates")
    assert response.status_code == 201, response.text
    template = response.json()
    assert (template["is_template"], template["container"], template["datastore_id"]) == (
        True, None, None,
    )  # fmt: skip
    # The client's `export-templates` listing.
    listed = api.get(URL, params={"template_only": "true", "template_locked": "true", "size": 100})
    assert template["id"] in [t["id"] for t in listed.json()["items"]]
    assert template["id"] not in [t["id"] for t in api.get(URL).json()["items"]]
    assert api.get(f"/api/quality-check-templates/{template['id']}").json() == template

    from_template = created(api, place.orders, "between", template_id=template["id"],
                            fields=["amount"], properties={"min": 5, "max": 6})  # fmt: skip
    # Locked: the template's properties, whatever the body said.
    assert from_template["properties"] == template["properties"]
    assert (from_template["template_id"], from_template["template_locked"]) == (
        template["id"], True,
    )  # fmt: skip
    url = f"{URL}/{from_template['id']}"
    locked = api.call(MANAGER, "PUT", url, json={"properties": {"min": 1, "max": 2}})
    assert "locked template" in messages(locked)
    # Changing the template changes the checks that follow it.
    api.call(MANAGER, "PUT", f"{URL}/{template['id']}", json={"properties": {"min": -1, "max": 1}})
    assert api.get(url).json()["properties"]["min"] == -1
    assert "not notNull" in messages(
        post(api, {"container_id": place.orders, "rule": "notNull", "fields": ["id"],
                   "template_id": template["id"]})
    )  # fmt: skip
    assert "no check template" in messages(
        post(api, {"container_id": place.orders, "fields": ["id"], "template_id": 987_654})
    )


def test_container_listing(api: Api, place: Place) -> None:
    listing = api.get("/api/containers/listing", params={"datastore": place.datastore})
    assert listing.status_code == 200, listing.text
    assert listing.json() == [
        {"id": place.orders, "name": "orders", "container_type": "table",
         "datastore_id": place.datastore},
        {"id": place.customers, "name": "customers", "container_type": "table",
         "datastore_id": place.datastore},
    ]  # fmt: skip
    assert api.get("/api/containers/listing", params={"datastore": 987_654}).status_code == 404
    assert error_locs(api.get("/api/containers/listing")) == [["query", "datastore"]]


def test_the_rules_are_documented(api: Api) -> None:
    rules = api.get(f"{URL}/rules").json()
    assert {r["rule_type"] for r in rules} == {rule.value for rule in RuleType}
    between = next(r for r in rules if r["rule_type"] == "between")
    assert set(between["properties"]["required"]) == {"min", "max"}
    assert between["aliases"] == [] and between["fields"] == "single"
    described = api.get("/api/openapi.json").json()["paths"][URL]["post"]["description"]
    assert all(f"`{rule.value}`" in described for rule in RuleType)


def test_roles(api: Api, place: Place) -> None:
    check = created(api, place.orders, "notNull", fields=["id"])
    url = f"{URL}/{check['id']}"
    body = {"container_id": place.orders, "rule": "unique", "fields": ["id"]}
    calls: list[tuple[str, str, Any, Role, int]] = [
        ("GET", URL, None, MEMBER, 200),
        ("GET", url, None, MEMBER, 200),
        ("GET", f"{URL}/rules", None, MEMBER, 200),
        ("GET", f"/api/containers/listing?datastore={place.datastore}", None, MEMBER, 200),
        ("POST", URL, body, MANAGER, 201),
        ("PUT", url, {"description": "d"}, MANAGER, 200),
        ("DELETE", url, None, MANAGER, 204),
        ("DELETE", URL, [{"id": check["id"]}], MANAGER, 204),
    ]
    for method, path, payload, least, allowed in calls:
        assert api.call(None, method, path, json=payload).status_code == 401
        for role in Role:
            if not role.allows(least):
                assert api.call(role, method, path, json=payload).status_code == 403, (path, role)
        response = api.call(least, method, path, json=payload)
        assert response.status_code == allowed, (method, path, response.text)


def test_checks_for_a_scan(api: Api, place: Place) -> None:
    jdbc = api.datastore(
        name=unique("sales"), kind="jdbc", connection_id=api.connection()["id"], database="sales"
    )["id"]
    reference = api.container(jdbc, "public.customers", {"id": "int"})
    a = created(api, place.orders, "notNull", fields=["id"], filter="amount > 0", coverage=0.9)
    b = created(api, place.orders, "existsIn", fields=["customer_id"],
                properties={"ref_container_id": reference, "field_name": "id"})  # fmt: skip
    c = created(api, place.customers, "notNull", fields=["email"])
    created(api, place.orders, "unique", fields=["id"], status="Draft")
    archived = created(api, place.orders, "unique", fields=["amount"])
    api.call(MANAGER, "DELETE", f"{URL}/{archived['id']}")
    post(api, {"rule": "notNull"}, "/api/quality-check-templates")
    box = SecretsBox.from_settings(api.settings)
    with api.session() as session:
        every = checks_for(session, place.datastore, None, box)
        on_orders = checks_for(session, place.datastore, ["orders", "no-such-table"], box)
        none = checks_for(session, place.datastore, [], box)
        nowhere = checks_for(session, 987_654, None, box)
        stored = session.get(QualityCheck, b["id"])
        assert stored is not None and stored.rule == "existsIn"
    assert [spec.id for spec in every] == [a["id"], b["id"], c["id"]]
    assert every[0] == CheckSpec(
        id=a["id"], container="orders", rule=RuleType.NOT_NULL, fields=["id"],
        properties={}, filter="amount > 0", coverage=0.9,
    )  # fmt: skip
    ref = every[1].reference
    assert ref is not None and ref.container == "public.customers"
    assert (ref.datastore.kind, ref.datastore.database) == ("jdbc", "sales")
    assert ref.datastore.password is not None
    assert ref.datastore.password.get_secret_value() == PASSWORD
    assert [spec.id for spec in on_orders] == [a["id"], b["id"]]
    assert none == [] and nowhere == []


def test_pattern_judgement_matches_what_spark_would_take() -> None:
    # Java forms Python's re does not know are accepted; Python-only forms are refused.
    for pattern in (r"(?<year>\d{4})", r"\p{Lu}\P{Lu}*", r"\pL", r"\Q(.)\E", r"a++b", r"(?>ab)"):
        assert check_pattern(pattern) == pattern
    for pattern in ("(?P<x>a)", "(?P=x)", "[", "a{2,1}", "*a"):
        with pytest.raises(ValueError, match=r"Java regex|not a valid regular"):
            check_pattern(pattern)
    # Lookbehinds are not mistaken for named groups.
    assert check_pattern(r"(?<=a)b(?<!c)") == r"(?<=a)b(?<!c)"


def test_filters_are_judged_as_spark_sql_conditions() -> None:
    accepted = {
        "a > 1 AND b IS NOT NULL": ["a", "b"],
        "upper(`weird col`) = 'X'": ["weird col"],
        "t.amount > 0": ["amount"],
        # A subquery reads another table: its columns are not this container's.
        "id IN (SELECT customer_id FROM other WHERE other.z = 1)": ["id"],
        "exists(items, x -> x > limit_value)": ["items"],
        "created >= current_date() - INTERVAL 1 DAY": ["created"],
        "flag": ["flag"],
        "/* why */ a <> 'b;c'": ["a"],
    }
    for text, columns in accepted.items():
        assert referenced_columns(parse_condition(text)) == columns, text
    refused = {
        "WHERE a > 1": "not valid Spark SQL",
        "a >": "not valid Spark SQL",
        "a = 1) OR (1 = 1": "not valid Spark SQL",
        "a > 1; DROP TABLE t": "several statements",
        "SELECT 1": "not a statement",
        "DROP TABLE t": "not a statement",
        "-- only a comment": "is empty",
        "(" * 3000 + "a" + ")" * 3000: "nested too deeply",
    }
    for text, message in refused.items():
        with pytest.raises(ValueError, match=message):
            parse_condition(text)


def test_text_postgresql_cannot_store_is_a_422(api: Api, place: Place) -> None:
    base = {"container_id": place.orders, "rule": "notNull", "fields": ["id"]}
    for extra in ({"description": "a\x00b"}, {"filter": "id = '\x00'"}, {"tags": ["a\x00"]},
                  {"anomaly_message_field": "a\x00"}, {"rule": "notNull\x00"}):  # fmt: skip
        assert error_locs(post(api, {**base, **extra}))[0][:2] == ["body", next(iter(extra))]
    # In JSON (metadata, unknown fields, properties) it is stored escaped and comes back.
    kept = post(api, {**base, "additional_metadata": {"k": "a\x00b"}, "x": "\x00"})
    assert kept.status_code == 201, kept.text
    assert (kept.json()["additional_metadata"], kept.json()["x"]) == ({"k": "a\x00b"}, "\x00")


def test_a_check_outlives_its_container_in_the_catalog(api: Api, place: Place) -> None:
    check = created(api, place.customers, "notNull", fields=["email"])
    with api.session() as session:
        container = session.get(Container, place.customers)
        assert container is not None
        session.delete(container)  # what a pruning catalog does
    url = f"{URL}/{check['id']}"
    body = api.get(url).json()
    assert (body["container"], body["fields"]) == (
        {"id": None, "name": "customers"},
        [{"name": "email", "type": None}],
    )
    # Still changed, archived and restored; its field names are taken as they are.
    changed = api.call(MANAGER, "PUT", url, json={"description": "later", "fields": ["EMAIL"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["fields"] == [{"name": "EMAIL", "type": None}]
    assert api.call(MANAGER, "DELETE", url).status_code == 204
    assert api.call(MANAGER, "PUT", url, json={"status": "Active"}).json()["status"] == "Active"


def test_a_check_written_back_as_it_was_read(api: Api, place: Place) -> None:
    check = created(api, place.orders, "between", fields=["amount"], tags=["t"],
                    properties={"min": 0, "max": 1}, later={"kept": True})  # fmt: skip
    url = f"{URL}/{check['id']}"
    back = api.call(MANAGER, "PUT", url, json={**check, "description": "again"})
    assert back.status_code == 200, back.text
    assert {**back.json(), "updated": None} == {**check, "description": "again", "updated": None}
    with api.session() as session:
        row = session.get(QualityCheck, check["id"])
        assert row is not None and row.extra == {"later": {"kept": True}}
