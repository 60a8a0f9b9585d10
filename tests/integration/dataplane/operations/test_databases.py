"""Operations on the machine's PostgreSQL and MariaDB through Spark's JDBC reader."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
from pydantic import SecretStr

from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.context import OperationFailed
from dqplatform.dataplane.operations.dispatch import run_operation
from dqplatform.dataplane.operations.readers import read_container
from dqplatform.dataplane.pool import OperationCancelled
from dqplatform.messaging.operations import (
    CatalogResult,
    CheckSpec,
    DatastoreSpec,
    ProfileResult,
    ReferenceSpec,
    ScanResult,
)
from dqplatform.messaging.rules import RuleType
from tests.integration.dataplane.operations import dataset
from tests.integration.dataplane.operations.checking import (
    assert_planted_anomalies,
    assert_profiles,
)
from tests.integration.dataplane.operations.conftest import make_context

pytestmark = pytest.mark.integration

CUSTOMER_TYPES = {
    "id": "int",
    "email": "string",
    "code": "string",
    "age": "int",
    "score": "decimal(8,2)",
    "status": "string",
    "signup": "date",
}
ORDER_TYPES = {"id": "int", "customer_id": "int", "amount": "decimal(10,2)"}
VIEW_TYPES = {"id": "int", "email": "string"}
BIG_ROWS = 40_000
MARIADB_PASSWORD = "Op3rations-pw-7c1e"

CREATE_TABLES = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, email VARCHAR(100), code VARCHAR(20), "
    "age INTEGER, score DECIMAL(8,2), status VARCHAR(20), signup DATE)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, amount DECIMAL(10,2))",
    "CREATE VIEW senior_customers AS SELECT id, email FROM customers WHERE age >= 60",
]


@dataclass
class Store:
    """A fresh database holding the dataset, and the datastore that reaches it."""

    kind: str
    datastore: DatastoreSpec
    big: DatastoreSpec  # a namespace with one table of BIG_ROWS rows
    execute: Callable[[str], list[tuple[Any, ...]]]  # runs SQL as an administrator


def _insert(table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> tuple[str, list]:
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    return sql, [tuple(row[c] for c in columns) for row in rows]


def _fill(cursor: Any) -> None:
    for statement in CREATE_TABLES:
        cursor.execute(statement)
    cursor.executemany(*_insert("customers", dataset.CUSTOMER_COLUMNS, dataset.customers()))
    cursor.executemany(*_insert("orders", dataset.ORDER_COLUMNS, dataset.orders()))


@pytest.fixture(scope="module")
def postgresql() -> Iterator[Store]:
    name = f"dqp_ops_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    db = psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}", autocommit=True)

    def execute(sql: str) -> list[tuple[Any, ...]]:
        cursor = db.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []

    try:
        with db.cursor() as cursor:
            _fill(cursor)
        execute("CREATE SCHEMA big")
        execute(
            "CREATE TABLE big.events AS "  # noqa: S608 - our own constants
            "SELECT g AS id, md5(g::text) AS payload, g % 97 AS bucket "
            f"FROM generate_series(1, {BIG_ROWS}) g"
        )
        # A view that never ends (10^12 rows) for the abort test.
        execute("CREATE SCHEMA slow")
        execute(
            "CREATE VIEW slow.endless AS SELECT a.g AS x, b.g AS y "
            "FROM generate_series(1, 1000000) AS a(g) "
            "CROSS JOIN generate_series(1, 1000000) AS b(g)"
        )
        spec = DatastoreSpec(
            kind="jdbc",
            connection_type="postgresql",
            host="127.0.0.1",
            port=5432,
            database=name,
            username="postgres",
        )
        yield Store("postgresql", spec, spec.model_copy(update={"schema_name": "big"}), execute)
    finally:
        db.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def mariadb() -> Iterator[Store]:
    name = f"dqp_ops_{uuid.uuid4().hex[:10]}"
    user = name  # a user of its own, with a password, so that the password is really used
    admin = pymysql.connect(
        host="127.0.0.1", port=3306, user="root", password="", connect_timeout=10, autocommit=True
    )

    def execute(sql: str) -> list[tuple[Any, ...]]:
        with admin.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    try:
        execute(f"CREATE DATABASE `{name}`")
        execute(f"CREATE DATABASE `{name}_big`")
        execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{MARIADB_PASSWORD}'")
        execute(f"GRANT SELECT ON `{name}`.* TO '{user}'@'%'")
        execute(f"GRANT SELECT ON `{name}_big`.* TO '{user}'@'%'")
        admin.select_db(name)
        with admin.cursor() as cursor:
            _fill(cursor)
        execute(
            f"CREATE TABLE `{name}_big`.events AS "  # noqa: S608 - our own names
            "SELECT seq AS id, md5(seq) AS payload, "
            f"seq % 97 AS bucket FROM seq_1_to_{BIG_ROWS}"
        )
        # data_length is InnoDB's estimate: refresh it, as the server would in time.
        execute(f"ANALYZE TABLE `{name}_big`.events")
        spec = DatastoreSpec(
            kind="jdbc",
            connection_type="mariadb",
            host="127.0.0.1",
            port=3306,
            database=name,
            username=user,
            password=SecretStr(MARIADB_PASSWORD),
        )
        yield Store("mariadb", spec, spec.model_copy(update={"database": f"{name}_big"}), execute)
    finally:
        execute(f"DROP DATABASE IF EXISTS `{name}`")
        execute(f"DROP DATABASE IF EXISTS `{name}_big`")
        execute(f"DROP USER IF EXISTS '{user}'@'%'")
        admin.close()


@pytest.fixture(params=["postgresql", "mariadb"])
def store(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue(request.param)


def test_catalog_lists_exactly_the_tables_and_views(engine: SparkEngine, store: Store) -> None:
    ctx, reports = make_context(engine, "catalog", store.datastore)
    result = run_operation(ctx)
    assert isinstance(result, CatalogResult)
    seniors = len(dataset.senior_customers(dataset.customers()))
    found = {
        c.name: (c.type, {f.name: f.type for f in c.fields}, c.record_count)
        for c in result.containers
    }
    assert found == {
        "senior_customers": ("view", VIEW_TYPES, seniors),
        "customers": ("table", CUSTOMER_TYPES, dataset.CUSTOMERS),
        "orders": ("table", ORDER_TYPES, dataset.ORDERS),
    }
    assert [c.name for c in result.containers] == ["customers", "orders", "senior_customers"]
    assert [f.name for f in result.containers[0].fields] == list(dataset.CUSTOMER_COLUMNS)
    assert ctx.progress.model_dump() == {
        "total_containers": 3,
        "containers_analyzed": 3,
        "records_processed": dataset.CUSTOMERS + dataset.ORDERS + seniors,
    }
    assert reports.seen


def test_profile_figures_match_values_computed_in_python(engine: SparkEngine, store: Store) -> None:
    ctx, reports = make_context(engine, "profile", store.datastore)
    result = run_operation(ctx)
    assert isinstance(result, ProfileResult)
    customers = dataset.customers()
    assert_profiles(
        result,
        "customers",
        dataset.expected_profiles(customers, dataset.CUSTOMER_COLUMNS, ("id", "age", "score")),
        CUSTOMER_TYPES,
    )
    assert_profiles(
        result,
        "orders",
        dataset.expected_profiles(dataset.orders(), dataset.ORDER_COLUMNS, dataset.ORDER_COLUMNS),
        ORDER_TYPES,
    )
    assert_profiles(
        result,
        "senior_customers",
        dataset.expected_profiles(
            dataset.senior_customers(customers), dataset.VIEW_COLUMNS, ("id",)
        ),
        VIEW_TYPES,
    )
    assert ctx.progress.containers_analyzed == 3
    assert reports.seen


def test_scan_finds_the_planted_anomalies_and_no_others(engine: SparkEngine, store: Store) -> None:
    checks = dataset.checks("customers", "orders")
    ctx, _ = make_context(engine, "scan", store.datastore, checks=checks)
    result = run_operation(ctx)
    assert isinstance(result, ScanResult)
    assert_planted_anomalies(result, "customers", checks_evaluated=len(checks))
    assert ctx.progress.records_processed == dataset.CUSTOMERS + dataset.ORDERS


def test_cross_container_rules_read_the_reference_through_its_own_datastore(
    engine: SparkEngine, store: Store, tmp_path: Path
) -> None:
    """Orders in the database judged against customers in the same database, and against
    customers in a Parquet file of another (files) datastore; counts computed in Python."""
    customers, orders = dataset.customers(), dataset.orders()
    few = [row for row in customers if row["id"] <= 100]
    engine.session.createDataFrame(few).write.parquet(str(tmp_path / "few.parquet"))
    in_db = ReferenceSpec(datastore=store.datastore, container="customers")
    in_files = ReferenceSpec(
        datastore=DatastoreSpec(kind="files", path=str(tmp_path)), container="few.parquet"
    )
    props = {"field_name": "id", "ref_container_id": 1}
    checks = [
        CheckSpec(
            id=1,
            container="orders",
            rule=RuleType.EXISTS_IN,
            fields=["customer_id"],
            properties=props,
            reference=in_db,
        ),
        CheckSpec(
            id=2,
            container="orders",
            rule=RuleType.NOT_EXISTS_IN,
            fields=["id"],
            properties=props,
            reference=in_db,
        ),
        CheckSpec(
            id=3,
            container="orders",
            rule=RuleType.EXISTS_IN,
            fields=["customer_id"],
            properties=props,
            reference=in_files,
        ),
    ]
    ctx, _ = make_context(engine, "scan", store.datastore, checks=checks)
    result = run_operation(ctx)
    assert isinstance(result, ScanResult)
    outcomes = {o.check_id: o for o in result.outcomes}
    ids = {row["id"] for row in customers}
    few_ids = {row["id"] for row in few}
    assert outcomes[1].error is None and outcomes[1].passed  # every customer_id is a customer
    assert outcomes[2].failed_records == sum(1 for o in orders if o["id"] in ids)
    assert outcomes[3].failed_records == sum(1 for o in orders if o["customer_id"] not in few_ids)
    assert outcomes[3].failed_records > 0 and not outcomes[3].passed
    assert all(o.records == dataset.ORDERS for o in outcomes.values())


def test_named_containers_only_and_an_unknown_name_fails(engine: SparkEngine, store: Store) -> None:
    ctx, _ = make_context(engine, "profile", store.datastore, container_names=["orders"])
    result = run_operation(ctx)
    assert isinstance(result, ProfileResult)
    assert {p.container for p in result.profiles} == {"orders"}
    ctx, _ = make_context(engine, "catalog", store.datastore, container_names=["orders", "Orders"])
    with pytest.raises(OperationFailed, match=r"^the datastore has no container named 'Orders'$"):
        run_operation(ctx)


def _size_bytes(store: Store) -> int:
    if store.kind == "postgresql":
        ((size,),) = store.execute("SELECT pg_total_relation_size('big.events')")
    else:
        ((size,),) = store.execute(
            "SELECT data_length + index_length "  # noqa: S608 - our own names
            "FROM information_schema.tables "
            f"WHERE table_schema = '{store.big.database}' AND table_name = 'events'"
        )
    return int(size)


def test_a_table_over_the_limit_is_sampled_in_the_database(
    engine: SparkEngine, store: Store
) -> None:
    size = _size_bytes(store)
    assert size > 2 * 1024 * 1024, "the big table must be over twice the limit"
    expected = BIG_ROWS * (1024 * 1024 / size)
    ctx, _ = make_context(engine, "profile", store.big, max_dataframe_size_mb=1)
    result = run_operation(ctx)
    assert isinstance(result, ProfileResult)
    assert result.profiles and all(p.sampled for p in result.profiles)
    (count,) = {p.record_count for p in result.profiles}
    assert abs(count - expected) < 0.15 * expected
    # Every sampled row is a distinct row of the table.
    assert next(p for p in result.profiles if p.field == "id").distinct == count
    assert ctx.progress.records_processed == count
    # A fixed seed: reading it again draws the same sample.
    df, sampled = read_container(ctx, "events")
    assert sampled and df.count() == count
    # A catalog counts the whole table (a count holds no rows), and under the limit the
    # table is read whole.
    ctx, _ = make_context(engine, "catalog", store.big, max_dataframe_size_mb=1)
    result = run_operation(ctx)
    assert isinstance(result, CatalogResult)
    assert [(c.name, c.record_count) for c in result.containers] == [("events", BIG_ROWS)]
    ctx, _ = make_context(engine, "scan", store.big, max_dataframe_size_mb=2048)
    df, sampled = read_container(ctx, "events")
    assert not sampled and df.count() == BIG_ROWS


def test_bad_credentials_fail_without_the_password(
    engine: SparkEngine,
    store: Store,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret = "Wr0ng-s3cret/pa:ss@word"
    if store.kind == "postgresql":
        # The machine's PostgreSQL trusts local users: a role that does not exist is refused.
        update: dict[str, Any] = {"username": "dqp_nobody", "password": SecretStr(secret)}
        expected = 'role "dqp_nobody" does not exist'
    else:
        update = {"password": SecretStr(secret)}
        expected = "Access denied"
    ctx, _ = make_context(engine, "catalog", store.datastore.model_copy(update=update))
    caplog.set_level(logging.DEBUG, logger="dqplatform")
    with pytest.raises(OperationFailed) as failure:
        run_operation(ctx)
    message = str(failure.value)
    assert expected in message
    assert secret not in message and "s3cret" not in message
    # Nothing chained that a traceback would print (driver texts, options).
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
    assert not any("s3cret" in record.getMessage() for record in caplog.records)
    # Nor in what the driver JVM logged (it writes to this process's stderr).
    assert "s3cret" not in "".join(capfd.readouterr())


def test_an_unreachable_database_fails_quickly(engine: SparkEngine) -> None:
    spec = DatastoreSpec(
        kind="jdbc",
        connection_type="postgresql",
        host="127.0.0.1",
        port=1,  # nothing listens there
        database="postgres",
        username="postgres",
        password=SecretStr("unused-pw-123"),
    )
    ctx, _ = make_context(engine, "profile", spec)
    started = time.monotonic()
    with pytest.raises(OperationFailed, match="Connection") as failure:
        run_operation(ctx)
    assert time.monotonic() - started < 20
    assert "unused-pw-123" not in str(failure.value)


def test_abort_cancels_a_long_running_spark_job_within_seconds(
    engine: SparkEngine, postgresql: Store
) -> None:
    spec = postgresql.datastore.model_copy(update={"schema_name": "slow"})
    ctx, _ = make_context(engine, "profile", spec)
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(run_operation(ctx))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    tracker = engine.session.sparkContext.statusTracker()

    def running_jobs() -> list[int]:
        return [
            job
            for job in tracker.getJobIdsForGroup(ctx.job_group)
            if (info := tracker.getJobInfo(job)) is not None and info.status == "RUNNING"
        ]

    deadline = time.monotonic() + 60
    # Past the catalog query: the profile's own job runs.
    while ctx.progress.total_containers != 1 or not running_jobs():
        assert worker.is_alive(), f"the operation ended before it was aborted: {outcome}"
        assert time.monotonic() < deadline, "the profile never started its Spark job"
        time.sleep(0.2)
    time.sleep(1)  # rows are flowing
    assert worker.is_alive()
    cancelled_at = time.monotonic()
    ctx.cancel.cancel()
    worker.join(15)
    assert not worker.is_alive(), "the operation did not stop within 15 s of the abort"
    assert time.monotonic() - cancelled_at < 15
    assert len(outcome) == 1 and isinstance(outcome[0], OperationCancelled), outcome
    # Spark's job is gone too, not only our wait for it.
    deadline = time.monotonic() + 10
    while running_jobs():
        assert time.monotonic() < deadline, "the Spark job outlived the abort"
        time.sleep(0.2)
