"""/api/quality-checks and the checks a scan gets, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, get_args

import pytest

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.checks import service
from dqplatform.controlplane.checks.models import QualityCheck
from dqplatform.controlplane.checks.patterns import check_pattern
from dqplatform.messaging.operations import CheckRule, CheckSpec
from tests.integration.controlplane.test_datastores_support import (
    BACKENDS,
    Api,
    error_locs,
    running_api,
)

pytestmark = pytest.mark.integration

MANAGER, MEMBER = Role.MANAGER, Role.MEMBER


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(request.param, tmp_path_factory.mktemp("data")) as api:
        yield api


def post(api: Api, datastore_id: int, rule: str, /, **extra: Any) -> Any:
    body = {"datastore_id": datastore_id, "container": "orders", "field": "id", "rule": rule}
    return api.call(MANAGER, "POST", "/api/quality-checks", json={**body, **extra})


def created(api: Api, datastore_id: int, rule: str, /, **extra: Any) -> dict[str, Any]:
    response = post(api, datastore_id, rule, **extra)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_each_rule_with_its_params(api: Api) -> None:
    datastore = api.files_datastore()
    ds = datastore["id"]
    not_null = created(api, ds, "not_null", description="ids are always set")
    assert {k: not_null[k] for k in ("datastore_id", "container", "field", "rule", "params")} == {
        "datastore_id": ds,
        "container": "orders",
        "field": "id",
        "rule": "not_null",
        "params": {},
    }
    assert not_null["description"] == "ids are always set"
    assert created(api, ds, "unique", params={})["params"] == {}
    between = created(api, ds, "between", field="amount", params={"min": 0, "max": 10.5})
    assert between["params"] == {"min": 0, "max": 10.5}
    assert created(api, ds, "between", params={"min": -3, "max": -3})["params"] == {
        "min": -3,
        "max": -3,
    }
    for pattern in (r"^[A-Z]{2}-\d+$", r"(?<code>[A-Z]+)-\d+", r"^\p{L}+$", r"\Qa.b\E\d"):
        assert created(api, ds, "matches_pattern", params={"pattern": pattern})["params"] == {
            "pattern": pattern
        }
    values = ["EUR", 1, 2.5, True]
    assert created(api, ds, "expected_values", params={"values": values})["params"] == {
        "values": values
    }
    assert api.get(f"/api/quality-checks/{between['id']}").json() == between


# (rule, extra body fields, the `loc` an error must have)
INVALID: list[tuple[str, dict[str, Any], list[Any]]] = [
    ("between", {"params": {"min": 5, "max": 1}}, ["body", "between", "params"]),
    ("between", {"params": {"min": 1}}, ["body", "between", "params", "max"]),
    ("between", {}, ["body", "between", "params"]),
    ("between", {"params": {"min": "1", "max": 2}}, ["body", "between", "params", "min"]),
    ("between", {"params": {"min": True, "max": 2}}, ["body", "between", "params", "min"]),
    ("between", {"params": {"min": 1, "max": 2, "step": 1}}, ["body", "between", "params", "step"]),
    (
        "matches_pattern",
        {"params": {"pattern": "([a-z"}},
        ["body", "matches_pattern", "params", "pattern"],
    ),
    (
        "matches_pattern",
        {"params": {"pattern": "(?P<x>a)"}},
        ["body", "matches_pattern", "params", "pattern"],
    ),
    (
        "matches_pattern",
        {"params": {"pattern": ""}},
        ["body", "matches_pattern", "params", "pattern"],
    ),
    (
        "matches_pattern",
        {"params": {"pattern": "a" * 1001}},
        ["body", "matches_pattern", "params", "pattern"],
    ),
    ("matches_pattern", {"params": {}}, ["body", "matches_pattern", "params", "pattern"]),
    (
        "expected_values",
        {"params": {"values": []}},
        ["body", "expected_values", "params", "values"],
    ),
    (
        "expected_values",
        {"params": {"values": "abc"}},
        ["body", "expected_values", "params", "values"],
    ),
    (
        "expected_values",
        {"params": {"values": [None]}},
        ["body", "expected_values", "params", "values", 0],
    ),
    (
        "expected_values",
        {"params": {"values": [[1]]}},
        ["body", "expected_values", "params", "values", 0],
    ),
    ("not_null", {"params": {"min": 1}}, ["body", "not_null", "params", "min"]),
    ("unique", {"params": None}, ["body", "unique", "params"]),
    ("sometimes", {}, ["body"]),
    ("not_null", {"container": ""}, ["body", "not_null", "container"]),
    ("not_null", {"field": "a\nb"}, ["body", "not_null", "field"]),
    ("not_null", {"datastore_id": 0}, ["body", "not_null", "datastore_id"]),
    ("not_null", {"description": "d" * 2001}, ["body", "not_null", "description"]),
    ("not_null", {"severity": "high"}, ["body", "not_null", "severity"]),
]


def test_invalid_checks_are_422_and_change_nothing(api: Api) -> None:
    ds = api.files_datastore()["id"]
    for rule, extra, loc in INVALID:
        response = post(api, ds, rule, **extra)
        assert loc in error_locs(response), (rule, extra, response.text)
    # Non-finite bounds, which Python's JSON reader accepts as NaN and Infinity.
    body = f'{{"datastore_id": {ds}, "container": "o", "field": "f", "rule": "between", '
    for bounds in ('"params": {"min": NaN, "max": 1}}', '"params": {"min": 0, "max": Infinity}}'):
        response = api.call(
            MANAGER,
            "POST",
            "/api/quality-checks",
            content=(body + bounds).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert error_locs(response)
    assert api.get("/api/quality-checks", params={"datastore": ds}).json()["total"] == 0
    unknown = post(api, 987_654, "not_null")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no datastore with id 987654"


def test_pattern_judgement_matches_what_spark_would_take() -> None:
    # Java forms Python's re does not know are accepted; Python-only forms are refused.
    for pattern in (r"(?<year>\d{4})", r"\p{Lu}\P{Lu}*", r"\pL", r"\Q(.)\E", r"a++b", r"(?>ab)"):
        assert check_pattern(pattern) == pattern
    for pattern in ("(?P<x>a)", "(?P=x)", "[", "a{2,1}", "*a"):
        with pytest.raises(ValueError, match=r"Java regex|not a valid regular"):
            check_pattern(pattern)
    # Lookbehinds are not mistaken for named groups.
    assert check_pattern(r"(?<=a)b(?<!c)") == r"(?<=a)b(?<!c)"


def test_update_list_and_delete(api: Api) -> None:
    ds = api.files_datastore()["id"]
    other = api.files_datastore()["id"]
    check = created(api, ds, "between", params={"min": 1, "max": 2})
    url = f"/api/quality-checks/{check['id']}"

    described = api.call(MANAGER, "PUT", url, json={"description": "amounts in range"})
    assert described.status_code == 200, described.text
    assert described.json()["description"] == "amounts in range"
    assert described.json()["params"] == {"min": 1, "max": 2}
    assert described.json()["created_at"] == check["created_at"]

    # A new rule needs its own params: the old ones are not carried over.
    assert ["body", "matches_pattern", "params", "pattern"] in error_locs(
        api.call(MANAGER, "PUT", url, json={"rule": "matches_pattern"})
    )
    assert error_locs(api.call(MANAGER, "PUT", url, json={"params": {"min": 3, "max": 2}})) == [
        ["body", "between", "params"]
    ]
    assert error_locs(api.call(MANAGER, "PUT", url, json={"container": None})) == [["body"]]
    assert error_locs(api.call(MANAGER, "PUT", url, json={"datastore_id": other})) == [
        ["body", "datastore_id"]
    ]
    assert api.get(url).json() == described.json()
    repatterned = api.call(
        MANAGER, "PUT", url, json={"rule": "matches_pattern", "params": {"pattern": "^x"}}
    )
    assert repatterned.status_code == 200, repatterned.text
    assert (repatterned.json()["rule"], repatterned.json()["params"]) == (
        "matches_pattern",
        {"pattern": "^x"},
    )
    to_not_null = api.call(MANAGER, "PUT", url, json={"rule": "not_null"}).json()
    assert (to_not_null["rule"], to_not_null["params"]) == ("not_null", {})

    created(api, ds, "unique", container="customers", field="email")
    created(api, ds, "not_null", container="customers", field="email")
    created(api, other, "unique", container="customers")
    mine = api.get("/api/quality-checks", params={"datastore": ds}).json()
    assert mine["total"] == 3
    assert [c["id"] for c in mine["items"]] == sorted(c["id"] for c in mine["items"])
    on_customers = api.get(
        "/api/quality-checks", params={"datastore": ds, "container": "customers"}
    ).json()
    assert [(c["container"], c["rule"]) for c in on_customers["items"]] == [
        ("customers", "unique"),
        ("customers", "not_null"),
    ]
    by_rule = api.get("/api/quality-checks", params={"datastore": ds, "rule": "not_null"}).json()
    assert by_rule["total"] == 2
    page = api.get("/api/quality-checks", params={"datastore": ds, "size": 2, "page": 2}).json()
    assert (len(page["items"]), page["total"], page["page"], page["size"]) == (1, 3, 2, 2)
    for bad in ({"size": 101}, {"page": 0}, {"datastore": 0}, {"rule": "maybe"}):
        response = api.get("/api/quality-checks", params=bad)
        assert error_locs(response) == [["query", next(iter(bad))]]

    assert api.call(MANAGER, "DELETE", url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.call(MANAGER, "DELETE", url).status_code == 404
    assert api.call(MANAGER, "PUT", url, json={"description": "x"}).status_code == 404
    assert api.get("/api/quality-checks", params={"datastore": ds}).json()["total"] == 2


def test_roles(api: Api) -> None:
    ds = api.files_datastore()["id"]
    check = created(api, ds, "not_null")
    url = f"/api/quality-checks/{check['id']}"
    body = {"datastore_id": ds, "container": "o", "field": "f", "rule": "unique"}
    calls: list[tuple[str, str, Any, Role, int]] = [
        ("GET", "/api/quality-checks", None, MEMBER, 200),
        ("GET", url, None, MEMBER, 200),
        ("POST", "/api/quality-checks", body, MANAGER, 201),
        ("PUT", url, {"description": "d"}, MANAGER, 200),
        ("DELETE", url, None, MANAGER, 204),
    ]
    for method, path, payload, least, allowed in calls:
        assert api.call(None, method, path, json=payload).status_code == 401
        for role in Role:
            if not role.allows(least):
                assert api.call(role, method, path, json=payload).status_code == 403, (path, role)
        if method != "DELETE":
            assert api.call(Role.ADMIN, method, path, json=payload).status_code == allowed
        response = api.call(least, method, path, json=payload)
        assert response.status_code == allowed, (method, path, response.text)


def test_checks_for_a_scan(api: Api) -> None:
    ds = api.files_datastore()["id"]
    other = api.files_datastore()["id"]
    a = created(api, ds, "not_null", container="orders", field="id")
    b = created(api, ds, "between", container="orders", field="amount", params={"min": 0, "max": 9})
    c = created(
        api,
        ds,
        "expected_values",
        container="customers",
        field="tier",
        params={"values": ["gold", "silver"]},
    )
    created(api, other, "unique", container="orders")
    with api.session() as session:
        every = service.checks_for(session, ds, None)
        on_orders = service.checks_for(session, ds, ["orders", "no-such-table"])
        none = service.checks_for(session, ds, [])
        nowhere = service.checks_for(session, 987_654, None)
    assert every == [
        CheckSpec(id=a["id"], container="orders", field="id", rule="not_null", params={}),
        CheckSpec(
            id=b["id"],
            container="orders",
            field="amount",
            rule="between",
            params={"min": 0, "max": 9},
        ),
        CheckSpec(
            id=c["id"],
            container="customers",
            field="tier",
            rule="expected_values",
            params={"values": ["gold", "silver"]},
        ),
    ]
    assert [spec.id for spec in on_orders] == [a["id"], b["id"]]
    assert none == [] and nowhere == []


def test_the_database_knows_the_same_rules_as_the_messages() -> None:
    table = QualityCheck.__table__
    [constraint] = [c for c in table.constraints if "rule IN" in str(getattr(c, "sqltext", ""))]
    assert set(re.findall(r"'([a-z_]+)'", str(constraint.sqltext))) == set(get_args(CheckRule))
