"""qualytics-cli 1.2.2's `checks`, `dbt import` and `migrate apply` commands against a live
controlplane on PostgreSQL, then on SQLite; what they made is read back through the
platform's own API.

No dataplane runs here: each datastore's containers are stored the way a catalog
operation's result is (containers.service.store_catalog), so the checks have real,
catalogued fields to be judged against.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from dqplatform.controlplane.containers.service import store_catalog
from dqplatform.messaging.operations import CatalogResult, ContainerInfo, FieldInfo
from tests.e2e.harness import Platform
from tests.e2e.test_cli_client import NO_DATAPLANE
from tests.e2e.test_qualytics_cli import ADMIN, Qualytics, qualytics_venv  # noqa: F401
from tests.services import postgres_database

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ORDERS = {"id": "int", "customer_id": "int", "amount": "double", "status": "string"}
CUSTOMERS = {"ID": "int", "email": "string"}  # upper-case ID: the client fixes casing


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The platform's database: PostgreSQL, then a SQLite file."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'dqp.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[Platform]:
    instance = Platform(
        data_dir=tmp_path_factory.mktemp("qualytics-checks") / "data",
        broker_url=None,
        extra_env={**NO_DATAPLANE, "DQP_DATABASE_URL": database},
    )
    try:
        instance.start("controlplane", "controlplane")
        instance.wait_api()
        instance.token = instance.create_admin(ADMIN)
        yield instance
    finally:
        instance.stop_all()


@dataclass
class Cli:
    """`qualytics` signed in with a personal token, run in a folder of its own."""

    qualytics: Qualytics
    cwd: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.qualytics.executable), *args],
            env=self.qualytics.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def json(self, *args: str) -> Any:
        out = self.run(*args, "--format", "json").stdout
        return json.loads(out[min(i for i in (out.find("["), out.find("{")) if i >= 0) :])


@pytest.fixture(scope="module")
def cli(
    qualytics_venv: Path,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
    platform: Platform,
) -> Cli:
    created = platform.request(
        "POST", "/api/user-tokens", json={"name": "qualytics-checks", "expires_in_days": 1}
    )
    assert created.status_code == 201, created.text
    home = tmp_path_factory.mktemp("qualytics-home")
    client = Cli(Qualytics(qualytics_venv, home), home)
    client.run("auth", "init", "--url", platform.url, "--token", created.json()["token"])
    return client


def _catalogued(platform: Platform, database: str, name: str) -> dict[str, int]:
    """A files datastore whose catalog found orders and customers: {name: id} and "id"."""
    response = platform.request(
        "POST",
        "/api/datastores",
        json={
            "name": name,
            "kind": "files",
            "path": str(platform.data_dir / "files" / name),
            "file_format": "csv",
        },
    )
    assert response.status_code == 201, response.text
    datastore = int(response.json()["id"])
    result = CatalogResult(
        containers=[
            ContainerInfo(
                name=container,
                type="table",
                fields=[FieldInfo(name=n, type=t) for n, t in fields.items()],
                record_count=0,
            )
            for container, fields in (("orders", ORDERS), ("customers", CUSTOMERS))
        ]
    )
    engine = create_engine(database)
    try:
        with Session(engine) as session, session.begin():
            store_catalog(session, datastore, 0, result)
    finally:
        engine.dispose()
    listing = platform.get(f"/api/containers/listing?datastore={datastore}").json()
    return {"id": datastore, **{c["name"]: c["id"] for c in listing}}


def _checks(platform: Platform, datastore: int, **params: Any) -> list[dict[str, Any]]:
    response = platform.request(
        "GET", "/api/quality-checks", params={"datastore": datastore, "size": 100, **params}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _definition(check: dict[str, Any]) -> tuple[Any, ...]:
    properties = {k: v for k, v in check["properties"].items() if k != "ref_container_id"}
    return (
        check["container"]["name"],
        check["rule_type"],
        [f["name"] for f in check["fields"]],
        json.dumps(properties, sort_keys=True),
        check["filter"],
        check["coverage"],
        [t["name"] for t in check["global_tags"]],
        check["status"],
    )


def _write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_checks_create_get_list_update_delete_activate(
    cli: Cli, platform: Platform, database: str
) -> None:
    shop = _catalogued(platform, database, "shop-crud")
    ds = str(shop["id"])
    definitions = [
        {"rule_type": "notNull", "container": "orders", "fields": ["id", "customer_id"],
         "description": "orders have ids", "tags": ["e2e"]},
        {"rule_type": "between", "container": "orders", "fields": ["AMOUNT"],
         "properties": {"min": 0, "max": 500}, "filter": "status <> 'void'",
         "coverage": 0.98, "status": "Draft", "tags": ["e2e", "money"]},
        {"rule_type": "existsIn", "container": "orders", "fields": ["customer_id"],
         "properties": {"ref_container_id": shop["customers"], "field_name": "id"}},
        {"rule_type": "matchesPattern", "container": "customers", "fields": ["email"],
         "properties": {"pattern": "^[^@]+@[^@]+$"}},
        {"rule_type": "notNull", "container": "orders", "fields": ["nope"]},
        {"rule_type": "notNull", "container": "nowhere", "fields": ["id"]},
    ]  # fmt: skip
    created = cli.run(
        "checks", "create", "--datastore-id", ds,
        "--file", str(_write_yaml(cli.cwd / "checks.yaml", definitions)),
    )  # fmt: skip
    assert "Created 4, failed 2 of 6 checks." in created.stdout, created.stdout
    assert "container 'orders' has no field 'nope'" in created.stdout
    assert "Container 'nowhere' not found" in created.stdout
    checks = _checks(platform, shop["id"])
    by_rule = {c["rule_type"]: c for c in checks if c["rule_type"] != "notNull"}
    not_null = next(c for c in checks if c["rule_type"] == "notNull")
    between, exists = by_rule["between"], by_rule["existsIn"]
    assert [f["name"] for f in between["fields"]] == ["amount"]  # catalogued casing
    assert (between["status"], between["coverage"], between["filter"]) == (
        "Draft", 0.98, "status <> 'void'",
    )  # fmt: skip
    assert exists["properties"]["field_name"] == "ID"
    assert exists["container"] == {"id": shop["orders"], "name": "orders"}

    shown = cli.json("checks", "get", "--id", str(between["id"]))
    assert shown == platform.get(f"/api/quality-checks/{between['id']}").json()
    listed = cli.json("checks", "list", "--datastore-id", ds, "--status", "draft")
    assert [c["id"] for c in listed] == [between["id"]]
    tagged = cli.json("checks", "list", "--datastore-id", ds, "--tags", "money,e2e")
    assert sorted(c["id"] for c in tagged) == sorted([not_null["id"], between["id"]])
    on_customers = cli.json("checks", "list", "--datastore-id", ds, "--containers", "CUSTOMERS")
    assert [c["rule_type"] for c in on_customers] == ["matchesPattern"]

    changes = {"description": "amounts are small", "coverage": 0.9, "tags": ["money"]}
    cli.run("checks", "update", "--id", str(between["id"]),
            "--file", str(_write_yaml(cli.cwd / "update.yaml", changes)))  # fmt: skip
    updated = platform.get(f"/api/quality-checks/{between['id']}").json()
    assert (updated["description"], updated["coverage"], updated["global_tags"]) == (
        "amounts are small", 0.9, [{"name": "money"}],
    )  # fmt: skip
    assert (updated["properties"], updated["filter"], updated["status"]) == (
        between["properties"], between["filter"], "Draft",
    )  # fmt: skip

    # `checks delete` archives by default: the check is kept and still readable.
    cli.run("checks", "delete", "--id", str(not_null["id"]))
    archived = platform.get(f"/api/quality-checks/{not_null['id']}")
    assert archived.status_code == 200
    assert (archived.json()["status"], archived.json()["archive_status"]) == (
        "Archived", "Discarded",
    )  # fmt: skip
    assert [c["id"] for c in cli.json("checks", "list", "--datastore-id", ds,
                                       "--status", "Archived")] == [not_null["id"]]  # fmt: skip
    assert not_null["id"] not in [c["id"] for c in _checks(platform, shop["id"])]
    cli.run("checks", "activate", "--id", str(not_null["id"]))
    restored = platform.get(f"/api/quality-checks/{not_null['id']}").json()
    assert (restored["status"], restored["archived"]) == ("Active", None)
    assert [f["name"] for f in restored["fields"]] == ["id", "customer_id"]

    gone = [exists["id"], by_rule["matchesPattern"]["id"]]
    cli.run("checks", "delete", "--ids", ",".join(map(str, gone)), "--no-archive")
    for check_id in gone:
        assert platform.get(f"/api/quality-checks/{check_id}").status_code == 404
    assert len(_checks(platform, shop["id"], archived="include")) == 2


def test_checks_export_and_import_round_trip(cli: Cli, platform: Platform, database: str) -> None:
    source = _catalogued(platform, database, "shop-source")
    target = _catalogued(platform, database, "shop-target")
    bodies = [
        {"container_id": source["orders"], "rule": "between", "fields": ["amount"],
         "properties": {"min": 0, "max": 10, "inclusive_max": False}, "coverage": 0.5,
         "filter": "status = 'paid'", "tags": ["t1"], "description": "small amounts",
         "additional_metadata": {"team": "sales"}},
        {"container_id": source["orders"], "rule": "existsIn", "fields": ["customer_id"],
         "properties": {"ref_container_id": source["customers"], "field_name": "ID"}},
        {"container_id": source["customers"], "rule": "unique", "fields": ["ID", "email"],
         "status": "Draft"},
        {"container_id": source["orders"], "rule": "volumetric",
         "properties": {"comparison": "Absolute Value", "min": 1, "max": 1000}},
    ]  # fmt: skip
    for body in bodies:
        response = platform.request("POST", "/api/quality-checks", json=body)
        assert response.status_code == 201, response.text
    folder = cli.cwd / "exported"
    exported = cli.run("checks", "export", "--datastore-id", str(source["id"]),
                       "--output", str(folder))  # fmt: skip
    assert "Exported 4 checks across 2 containers" in exported.stdout, exported.stdout
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml"))
    assert files == [
        "customers/unique__id_email.yaml",
        "orders/between__amount.yaml",
        "orders/existsin__customer_id.yaml",
        "orders/volumetric.yaml",
    ]
    portable = yaml.safe_load((folder / "orders/existsin__customer_id.yaml").read_text())
    assert portable["properties"] == {
        "ref_filter": None, "field_name": "ID", "ref_container_name": "customers",
    }  # fmt: skip

    log = cli.cwd / "import-failures.log"
    for _ in range(2):  # the second import updates in place (upsert by the exported uid)
        cli.run("checks", "import", "--datastore-id", str(target["id"]),
                "--input", str(folder), "--failures-log", str(log))  # fmt: skip
        assert not log.exists()
        copies = _checks(platform, target["id"])
        assert len(copies) == 4
    originals = sorted(_definition(c) for c in _checks(platform, source["id"]))
    assert sorted(_definition(c) for c in copies) == originals
    [exists] = [c for c in copies if c["rule_type"] == "existsIn"]
    # The reference is the target datastore's own customers container.
    assert exists["properties"]["ref_container_id"] == target["customers"]
    [between] = [c for c in copies if c["rule_type"] == "between"]
    assert between["additional_metadata"] == {
        "_qualytics_check_uid": "orders__between__amount", "team": "sales",
    }  # fmt: skip


def test_check_templates_import_and_export(cli: Cli, platform: Platform, database: str) -> None:
    templates = [
        {"id": 501, "rule_type": "between", "description": "a percentage",
         "properties": {"min": 0, "max": 100}, "global_tags": [{"name": "tpl"}],
         "template_locked": True},
        {"id": 502, "rule_type": "matchesPattern", "properties": {"pattern": "^[A-Z]{3}$"},
         "template_locked": False, "coverage": 0.9},
        {"id": 503, "rule_type": "noSuchRule"},
    ]  # fmt: skip
    file = _write_yaml(cli.cwd / "templates.yaml", templates)
    imported = cli.run("checks", "import-templates", "--input", str(file))
    assert "Created a total of 2 check templates." in imported.stdout, imported.stdout
    out = cli.cwd / "exported-templates.yaml"
    cli.run("checks", "export-templates", "--output", str(out))
    exported = yaml.safe_load(out.read_text())
    assert [(t["rule_type"], t["template_locked"], t["is_template"]) for t in exported] == [
        ("between", True, True), ("matchesPattern", False, True),
    ]  # fmt: skip
    assert exported[0]["additional_metadata"] == {"from quality check id": "501"}
    assert exported[1]["coverage"] == 0.9
    locked = cli.cwd / "locked.yaml"
    cli.run("checks", "export-templates", "--output", str(locked), "--status")
    assert [t["rule_type"] for t in yaml.safe_load(locked.read_text())] == ["between"]

    # A check made from the locked template takes its rule and properties.
    shop = _catalogued(platform, database, "shop-templates")
    body = {"container_id": shop["orders"], "template_id": exported[0]["id"], "fields": ["amount"]}
    response = platform.request("POST", "/api/quality-checks", json=body)
    assert response.status_code == 201, response.text
    assert (response.json()["rule_type"], response.json()["properties"]) == (
        "between", exported[0]["properties"],
    )  # fmt: skip


def _test(
    name: str, model: str, column: str | None, kwargs: dict[str, Any], namespace: str | None = None,
    depends: tuple[str, ...] = (),
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    unique_id = f"test.shop.{name}"
    nodes = [f"model.shop.{model}", *(f"model.shop.{d}" for d in depends)]
    metadata: dict[str, Any] = {"name": name.split("__")[0], "kwargs": kwargs}
    if namespace:
        metadata["namespace"] = namespace
    return unique_id, {
        "resource_type": "test",
        "name": name,
        "column_name": column,
        "attached_node": f"model.shop.{model}",
        "depends_on": {"nodes": nodes},
        "test_metadata": metadata,
        "config": {},
    }


def test_dbt_import(cli: Cli, platform: Platform, database: str) -> None:
    shop = _catalogued(platform, database, "shop-dbt")
    tests = dict(
        [
            _test("not_null", "orders", "id", {"column_name": "id"}),
            _test("unique", "customers", "id", {"column_name": "id"}),
            _test("accepted_values", "orders", "status",
                  {"column_name": "status", "values": ["paid", "void", "open"]}),
            _test("relationships", "orders", "customer_id",
                  {"column_name": "customer_id", "to": "ref('customers')", "field": "id"},
                  depends=("customers",)),
            _test("expect_column_values_to_be_between", "orders", "amount",
                  {"column_name": "amount", "min_value": 0, "max_value": 1000},
                  namespace="dbt_expectations"),
            _test("expect_column_value_lengths_to_be_between", "customers", "email",
                  {"column_name": "email", "min_value": 3, "max_value": 254},
                  namespace="dbt_expectations"),
            _test("expect_table_row_count_to_be_between", "orders", None,
                  {"min_value": 1, "max_value": 100000}, namespace="dbt_expectations"),
        ]
    )  # fmt: skip
    models = {
        f"model.shop.{name}": {"resource_type": "model", "name": name, "alias": name}
        for name in ("orders", "customers")
    }
    manifest = {"metadata": {"project_name": "shop"}, "nodes": {**models, **tests}}
    path = cli.cwd / "manifest.json"
    path.write_text(json.dumps(manifest))
    log = cli.cwd / "dbt-failures.log"
    result = cli.run("dbt", "import", "--datastore-id", str(shop["id"]), "--manifest", str(path),
                     "--failures-log", str(log))  # fmt: skip
    assert not log.exists(), log.read_text() + result.stdout
    checks = _checks(platform, shop["id"])
    made = sorted(
        (c["container"]["name"], c["rule_type"], tuple(f["name"] for f in c["fields"]))
        for c in checks
    )
    assert made == [
        ("customers", "maxLength", ("email",)),
        ("customers", "minLength", ("email",)),
        ("customers", "unique", ("ID",)),
        ("orders", "between", ("amount",)),
        ("orders", "existsIn", ("customer_id",)),
        ("orders", "expectedValues", ("status",)),
        ("orders", "notNull", ("id",)),
        ("orders", "volumetric", ()),
    ]
    by_rule = {c["rule_type"]: c for c in checks}
    assert by_rule["expectedValues"]["properties"] == {"list": ["paid", "void", "open"]}
    assert by_rule["existsIn"]["properties"]["ref_container_id"] == shop["customers"]
    assert by_rule["existsIn"]["properties"]["field_name"] == "ID"
    assert by_rule["maxLength"]["properties"] == {"value": 254}
    assert all(c["additional_metadata"]["dbt_unique_id"].startswith("test.shop.") for c in checks)
    # A second import updates the same checks.
    cli.run("dbt", "import", "--datastore-id", str(shop["id"]), "--manifest", str(path),
            "--failures-log", str(log))  # fmt: skip
    assert len(_checks(platform, shop["id"])) == 8


def test_migrate_apply(cli: Cli, platform: Platform, database: str) -> None:
    shop = _catalogued(platform, database, "shop-sheet")
    rows = [
        {"kind": "check", "check_id": "LC-1", "container": "orders", "rule_type": "notNull",
         "fields": "id", "status": "Active"},  # a sheet's rows are Draft unless they say
        {"kind": "check", "check_id": "LC-2", "container": "orders", "rule_type": "between",
         "fields": "amount", "min": "0", "max": "1000", "status": "Draft"},
        {"kind": "check", "check_id": "LC-3", "container": "customers",
         "rule_type": "matchesPattern", "fields": "email", "pattern": "^.+@.+$"},
        {"kind": "check", "check_id": "LC-4", "container": "orders", "rule_type": "existsIn",
         "fields": "customer_id", "ref_container": "customers", "ref_field": "ID"},
        {"kind": "check", "check_id": "LC-5", "container": "orders",
         "rule_type": "satisfiesExpression", "expression": "amount >= 0", "tags": "sheet"},
        {"kind": "check", "check_id": "LC-6", "container": "orders", "rule_type": "greaterThan",
         "fields": "amount", "value": "0", "metadata:owner": "ops"},
    ]  # fmt: skip
    sheet = cli.cwd / "sheet.csv"
    columns = sorted({key for row in rows for key in row})
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    cli.run("migrate", "apply", "--sheet", str(sheet), "--datastore-id", str(shop["id"]),
            "--strict", "--run-dir", str(cli.cwd / "migration"))  # fmt: skip
    checks = {c["additional_metadata"]["legacy_check_id"]: c for c in _checks(platform, shop["id"])}
    assert sorted(checks) == ["LC-1", "LC-2", "LC-3", "LC-4", "LC-5", "LC-6"]
    assert checks["LC-2"]["status"] == "Draft" and checks["LC-1"]["status"] == "Active"
    assert checks["LC-2"]["properties"]["min"] == 0
    assert checks["LC-4"]["properties"]["ref_container_id"] == shop["customers"]
    assert checks["LC-5"]["properties"] == {"expression": "amount >= 0"}
    assert checks["LC-6"]["properties"] == {"value": 0.0, "inclusive": True}
    assert checks["LC-6"]["additional_metadata"]["owner"] == "ops"


# Where this platform's contract knowingly differs from the client's (docs/checks.md): sum
# judges one aggregate, so it takes no coverage; the client's default coverage of 1 is
# still accepted for it.
CONTRACT_DIFFERENCES = {"sum": {"coverage": False}}


def test_the_rules_are_those_of_the_clients_contract(
    qualytics_venv: Path,  # noqa: F811 - the fixture imported above
    platform: Platform,
) -> None:
    probe = subprocess.run(
        [str(qualytics_venv / "bin" / "python"), "-c",
         "import json; from qualytics.services.rules import RULE_CONTRACT, CROSS_REF_RULES; "
         "print(json.dumps({'contract': {k: {'fields': c.fields, 'filterable': c.filterable, "
         "'coverage': c.coverage} for k, c in RULE_CONTRACT.items()}, "
         "'cross': sorted(CROSS_REF_RULES)}))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    client = json.loads(probe.stdout)
    response = platform.get("/api/quality-checks/rules")
    assert response.status_code == 200, response.text
    ours = {rule["rule_type"]: rule for rule in response.json()}
    for name, contract in client["contract"].items():
        expected = {**contract, **CONTRACT_DIFFERENCES.get(name, {})}
        assert {key: ours[name][key] for key in expected} == expected, name
    assert all(ours[name]["cross_container"] for name in client["cross"])
