"""Operations on generated CSV and Parquet files, on one real local Spark engine."""

from __future__ import annotations

import csv
import shutil
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from pyspark.sql.types import (
    DateType,
    DecimalType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.context import OperationFailed
from dqplatform.dataplane.operations.dispatch import run_operation
from dqplatform.dataplane.operations.readers import read_container
from dqplatform.dataplane.pool import OperationCancelled
from dqplatform.messaging.operations import (
    CatalogResult,
    DatastoreSpec,
    ProfileResult,
    ScanResult,
)
from tests.integration.dataplane.operations import dataset
from tests.integration.dataplane.operations.checking import (
    assert_planted_anomalies,
    assert_profiles,
)
from tests.integration.dataplane.operations.conftest import make_context

pytestmark = pytest.mark.integration

CUSTOMER_SCHEMA = StructType(
    [
        StructField("id", IntegerType()),
        StructField("email", StringType()),
        StructField("code", StringType()),
        StructField("age", IntegerType()),
        StructField("score", DecimalType(8, 2)),
        StructField("status", StringType()),
        StructField("signup", DateType()),
    ]
)
ORDER_SCHEMA = StructType(
    [
        StructField("id", IntegerType()),
        StructField("customer_id", IntegerType()),
        StructField("amount", DecimalType(10, 2)),
    ]
)
CSV_CUSTOMER_TYPES = {
    "id": "int",
    "email": "string",
    "code": "string",
    "age": "int",
    "score": "double",
    "status": "string",
    "signup": "date",
}
PARQUET_CUSTOMER_TYPES = {**CSV_CUSTOMER_TYPES, "score": "decimal(8,2)"}
CSV_ORDER_TYPES = {"id": "int", "customer_id": "int", "amount": "double"}
PARQUET_ORDER_TYPES = {**CSV_ORDER_TYPES, "amount": "decimal(10,2)"}
BIG_ROWS = 60_000


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else row[c] for c in columns])


def csv_value(column: str, value: Any) -> Any:
    """A CSV's decimals come back as doubles."""
    return float(value) if isinstance(value, Decimal) else value


@pytest.fixture(scope="module")
def folder(engine: SparkEngine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("files")
    write_csv(root / "customers.csv", dataset.CUSTOMER_COLUMNS, dataset.customers())
    write_csv(root / "orders.csv", dataset.ORDER_COLUMNS, dataset.orders())
    spark = engine.session
    # A directory of Parquet parts, as Spark writes it.
    customers = [tuple(row[c] for c in dataset.CUSTOMER_COLUMNS) for row in dataset.customers()]
    spark.createDataFrame(customers, CUSTOMER_SCHEMA).repartition(3).write.parquet(
        str(root / "customers.parquet")
    )
    # And a single Parquet file.
    orders = [tuple(row[c] for c in dataset.ORDER_COLUMNS) for row in dataset.orders()]
    scratch = tmp_path_factory.mktemp("scratch")
    spark.createDataFrame(orders, ORDER_SCHEMA).coalesce(1).write.parquet(str(scratch / "o"))
    (part,) = (scratch / "o").glob("part-*.parquet")
    shutil.move(part, root / "orders.parquet")
    # Not containers: other files, hidden files, anything in a subdirectory.
    (root / "notes.txt").write_text("not data\n")
    (root / ".hidden.csv").write_text("a\n1\n")
    (root / "_temporary.csv").write_text("a\n1\n")
    (root / "archive").mkdir()
    (root / "archive" / "old.csv").write_text("a\n1\n")
    return root


def files(folder: Path, file_format: Literal["csv", "parquet"] | None = None) -> DatastoreSpec:
    return DatastoreSpec(kind="files", path=str(folder), file_format=file_format)


def test_catalog_lists_exactly_the_data_files(engine: SparkEngine, folder: Path) -> None:
    ctx, reports = make_context(engine, "catalog", files(folder))
    result = run_operation(ctx)
    assert isinstance(result, CatalogResult)
    by_name = {container.name: container for container in result.containers}
    assert sorted(by_name) == [
        "customers.csv",
        "customers.parquet",
        "orders.csv",
        "orders.parquet",
    ]
    expected = {
        "customers.csv": (CSV_CUSTOMER_TYPES, dataset.CUSTOMERS),
        "customers.parquet": (PARQUET_CUSTOMER_TYPES, dataset.CUSTOMERS),
        "orders.csv": (CSV_ORDER_TYPES, dataset.ORDERS),
        "orders.parquet": (PARQUET_ORDER_TYPES, dataset.ORDERS),
    }
    for name, (types, count) in expected.items():
        container = by_name[name]
        assert container.type == "file"
        assert {f.name: f.type for f in container.fields} == types
        assert [f.name for f in container.fields] == list(types)
        assert container.record_count == count
    total = 2 * (dataset.CUSTOMERS + dataset.ORDERS)
    assert ctx.progress.model_dump() == {
        "total_containers": 4,
        "containers_analyzed": 4,
        "records_processed": total,
    }
    assert reports.seen and reports.seen[0].total_containers == 4


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_profile_figures_match_values_computed_in_python(
    engine: SparkEngine, folder: Path, file_format: Literal["csv", "parquet"]
) -> None:
    ctx, reports = make_context(engine, "profile", files(folder, file_format))
    result = run_operation(ctx)
    assert isinstance(result, ProfileResult)
    as_read = csv_value if file_format == "csv" else (lambda column, value: value)
    customer_types = CSV_CUSTOMER_TYPES if file_format == "csv" else PARQUET_CUSTOMER_TYPES
    order_types = CSV_ORDER_TYPES if file_format == "csv" else PARQUET_ORDER_TYPES
    assert_profiles(
        result,
        f"customers.{file_format}",
        dataset.expected_profiles(
            dataset.customers(), dataset.CUSTOMER_COLUMNS, ("id", "age", "score"), as_read
        ),
        customer_types,
    )
    assert_profiles(
        result,
        f"orders.{file_format}",
        dataset.expected_profiles(
            dataset.orders(), dataset.ORDER_COLUMNS, dataset.ORDER_COLUMNS, as_read
        ),
        order_types,
    )
    assert len(result.profiles) == len(dataset.CUSTOMER_COLUMNS) + len(dataset.ORDER_COLUMNS)
    assert ctx.progress.containers_analyzed == 2
    assert ctx.progress.records_processed == dataset.CUSTOMERS + dataset.ORDERS
    assert reports.seen


def test_scan_finds_the_planted_anomalies_and_no_others(engine: SparkEngine, folder: Path) -> None:
    # The rules do not depend on the format; the databases' tests scan typed columns.
    customers, orders = "customers.csv", "orders.csv"
    checks = dataset.checks(customers, orders)
    ctx, _ = make_context(engine, "scan", files(folder), checks=checks)
    result = run_operation(ctx)
    assert isinstance(result, ScanResult)
    assert_planted_anomalies(result, customers, checks_evaluated=len(checks))
    # Only the containers with checks were read.
    assert ctx.progress.total_containers == ctx.progress.containers_analyzed == 2
    assert ctx.progress.records_processed == dataset.CUSTOMERS + dataset.ORDERS


def test_scan_of_named_containers_judges_only_their_checks(
    engine: SparkEngine, folder: Path
) -> None:
    checks = dataset.checks("customers.csv", "orders.csv")
    ctx, _ = make_context(
        engine, "scan", files(folder), checks=checks, container_names=["orders.csv"]
    )
    result = run_operation(ctx)
    assert isinstance(result, ScanResult)
    assert result.checks_evaluated == 2  # checks 10 and 11, both passing
    assert result.anomalies == []


def test_a_check_on_a_missing_container_or_with_unusable_params_is_reported(
    engine: SparkEngine, folder: Path
) -> None:
    from dqplatform.messaging.operations import CheckSpec
    from dqplatform.messaging.rules import RuleType

    checks = [
        CheckSpec(id=1, container="gone.csv", fields=["id"], rule=RuleType.NOT_NULL),
        CheckSpec(
            id=2,
            container="orders.csv",
            fields=["id"],
            rule=RuleType.MATCHES_PATTERN,
            properties={"pattern": "("},
        ),
        CheckSpec(id=3, container="orders.csv", fields=["id"], rule=RuleType.BETWEEN),
        CheckSpec(
            id=4,
            container="orders.csv",
            fields=["amount"],
            rule=RuleType.EXPECTED_VALUES,
            properties={"list": ["abc"]},
        ),
        CheckSpec(id=5, container="orders.csv", fields=["id"], rule=RuleType.UNIQUE),
    ]
    ctx, _ = make_context(engine, "scan", files(folder, "csv"), checks=checks)
    result = run_operation(ctx)
    assert isinstance(result, ScanResult)
    assert result.checks_evaluated == 5
    messages = {finding.check_id: finding.message for finding in result.anomalies}
    assert set(messages) == {1, 2, 3, 4}
    assert messages[1] == (
        "check 1 could not be evaluated: the datastore has no container 'gone.csv'"
    )
    assert "not a valid Java regular expression" in messages[2]
    assert "properties for between: min: Field required" in messages[3]
    assert "'abc' is not a number" in messages[4]
    assert all(finding.failed_records == 0 for finding in result.anomalies)
    assert all(finding.type == "shape" for finding in result.anomalies)
    outcomes = {outcome.check_id: outcome for outcome in result.outcomes}
    assert set(outcomes) == {1, 2, 3, 4, 5}
    assert all(outcomes[i].error for i in (1, 2, 3, 4))
    assert outcomes[5].passed and outcomes[5].error is None


def test_an_unknown_container_name_fails_the_operation(engine: SparkEngine, folder: Path) -> None:
    ctx, _ = make_context(
        engine, "profile", files(folder), container_names=["orders.csv", "nope.csv", "x.parquet"]
    )
    with pytest.raises(OperationFailed) as failure:
        run_operation(ctx)
    assert str(failure.value) == "the datastore has no container named 'nope.csv', 'x.parquet'"


def test_a_missing_path_fails_the_operation(engine: SparkEngine, tmp_path: Path) -> None:
    ctx, _ = make_context(engine, "catalog", files(tmp_path / "absent"))
    with pytest.raises(OperationFailed, match="is not a readable directory"):
        run_operation(ctx)


def test_a_container_over_the_limit_is_sampled_the_same_way_each_time(
    engine: SparkEngine, tmp_path: Path
) -> None:
    rows = [
        {"id": i, "name": f"name-{i:08d}", "value": i * 7 % 1000, "note": "x" * 20}
        for i in range(BIG_ROWS)
    ]
    write_csv(tmp_path / "big.csv", ("id", "name", "value", "note"), rows)
    write_csv(tmp_path / "small.csv", ("id", "name", "value", "note"), rows[:100])
    size = (tmp_path / "big.csv").stat().st_size
    assert size > 2 * 1024 * 1024
    fraction = 1024 * 1024 / size

    ctx, _ = make_context(engine, "profile", files(tmp_path), max_dataframe_size_mb=1)
    result = run_operation(ctx)
    assert isinstance(result, ProfileResult)
    big = [p for p in result.profiles if p.container == "big.csv"]
    small = [p for p in result.profiles if p.container == "small.csv"]
    assert big and all(p.sampled for p in big)
    assert small and not any(p.sampled for p in small)
    assert {p.record_count for p in small} == {100}
    (count,) = {p.record_count for p in big}
    assert abs(count - BIG_ROWS * fraction) < 0.1 * BIG_ROWS * fraction
    # Every sampled row is a distinct row of the file.
    assert next(p for p in big if p.field == "id").distinct == count
    assert ctx.progress.records_processed == count + 100
    # A fixed seed: reading it again draws the same sample.
    df, sampled = read_container(ctx, "big.csv")
    assert sampled and df.count() == count

    # A catalog counts the whole file (a count holds no rows).
    ctx, _ = make_context(engine, "catalog", files(tmp_path), max_dataframe_size_mb=1)
    result = run_operation(ctx)
    assert isinstance(result, CatalogResult)
    assert {c.name: c.record_count for c in result.containers} == {
        "big.csv": BIG_ROWS,
        "small.csv": 100,
    }


def test_an_operation_cancelled_before_it_starts_reads_nothing(
    engine: SparkEngine, folder: Path
) -> None:
    ctx, reports = make_context(engine, "profile", files(folder))
    ctx.cancel.cancel()
    started = time.monotonic()
    with pytest.raises(OperationCancelled):
        run_operation(ctx)
    assert time.monotonic() - started < 2
    assert reports.seen == []
