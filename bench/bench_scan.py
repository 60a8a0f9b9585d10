"""A scan of a 10-million-row Parquet table with 25 per-record checks, timed next to one
plain `count()` of the same table, in one run. The goal: the scan costs at most 3 reads'
worth (one aggregation for every check, one pass for the failing checks' sample rows, the
read that keeps the rows), not one read per check.

Run: `python -m bench.bench_scan [--rows N] [--with-unique]` (or `make bench`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bench.stack import machine
from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.scan import run_scan
from dqplatform.dataplane.pool import CancelToken
from dqplatform.messaging.operations import (
    CheckSpec,
    DatastoreSpec,
    OperationType,
    RunOperation,
    ScanResult,
)
from dqplatform.messaging.rules import CONTRACTS, RuleType
from dqplatform.settings import Settings

ROWS = 10_000_000
CONTAINER = "events.parquet"
R = RuleType


def generate(spark: SparkSession, path: Path, rows: int) -> None:
    """Typed columns derived from the row number; amount is null on every 50th row."""
    spark.range(rows).select(
        F.col("id"),
        (F.col("id") % 1000).cast("int").alias("bucket"),
        F.when(F.col("id") % 50 == 0, None)
        .otherwise((F.col("id") * 7919 % 1_000_003) / 100.0)
        .alias("amount"),
        F.concat(F.lit("user-"), (F.col("id") % 250_000).cast("string")).alias("name"),
        F.concat(F.lit("u"), F.col("id").cast("string"), F.lit("@example.com")).alias("email"),
        F.date_add(F.lit("2024-01-01").cast("date"), (F.col("id") % 366).cast("int")).alias("day"),
        F.timestamp_seconds(F.lit(1_704_067_200) + F.col("id") % 31_536_000).alias("ts"),
        F.element_at(
            F.array(F.lit("active"), F.lit("inactive"), F.lit("pending")),
            (F.col("id") % 3 + 1).cast("int"),
        ).alias("status"),
    ).write.parquet(str(path))


def checks(with_unique: bool) -> list[CheckSpec]:
    c = CONTAINER
    specs: list[tuple[RuleType, list[str], dict[str, Any]]] = [
        (R.NOT_NULL, ["id"], {}),
        (R.NOT_NULL, ["amount"], {}),  # fails on 2 % of the rows: the sample pass runs
        (R.NOT_NULL, ["name", "email"], {}),
        (R.ANY_NOT_NULL, ["amount", "name"], {}),
        (R.BETWEEN, ["bucket"], {"min": 0, "max": 999}),
        (R.BETWEEN, ["amount"], {"min": 0, "max": 10_001}),
        (R.GREATER_THAN, ["id"], {"value": -1}),
        (R.LESS_THAN, ["amount"], {"value": 10_001}),
        (R.MIN_VALUE, ["bucket"], {"value": 0}),
        (R.MAX_VALUE, ["bucket"], {"value": 999}),
        (R.NOT_NEGATIVE, ["amount"], {}),
        (R.POSITIVE, ["id"], {}),  # fails on id 0
        (R.MIN_LENGTH, ["name"], {"value": 6}),
        (R.MAX_LENGTH, ["name"], {"value": 20}),
        (R.MATCHES_PATTERN, ["name"], {"pattern": r"^user-\d+$"}),
        (R.CONTAINS_EMAIL, ["email"], {}),
        (R.EXPECTED_VALUES, ["status"], {"list": ["active", "inactive", "pending"]}),
        (R.EQUAL_TO, ["status"], {"value": "active"}),  # fails on 2/3 of the rows
        (R.SATISFIES_EXPRESSION, [], {"expression": "bucket <= id"}),
        (R.LESS_THAN_FIELD, ["bucket"], {"field_name": "id", "inclusive": True}),
        (R.IS_TYPE, ["amount"], {"field_type": "Fractional"}),
        (R.NOT_FUTURE, ["ts"], {}),
        (R.AFTER_DATE_TIME, ["ts"], {"datetime": "2023-12-31T00:00:00Z"}),
        (
            R.BETWEEN_TIMES,
            ["day"],
            {"min_time": "2024-01-01T00:00:00Z", "max_time": "2025-01-01T00:00:00Z"},
        ),
        (R.BEFORE_DATE_TIME, ["day"], {"datetime": "2030-01-01T00:00:00+02:00"}),
    ]
    if with_unique:
        specs[-1] = (R.UNIQUE, ["id"], {})
    made = [
        CheckSpec(id=i + 1, container=c, rule=rule, fields=fields, properties=props)
        for i, (rule, fields, props) in enumerate(specs)
    ]
    assert all(CONTRACTS[check.rule].anomaly_type == "record" for check in made)
    return made


def scan(engine: SparkEngine, folder: Path, specs: list[CheckSpec]) -> ScanResult:
    request = RunOperation(
        operation_id=1,
        attempt=1,
        type=OperationType.SCAN,
        datastore=DatastoreSpec(kind="files", path=str(folder), file_format="parquet"),
        checks=specs,
    )
    ctx = OperationContext(
        request=request,
        engine=engine,
        cancel=CancelToken("bench"),
        # Large enough to judge every row: the benchmark measures the work, not a sample.
        max_dataframe_size_mb=1_000_000,
        report=lambda progress: None,
    )
    return run_scan(ctx)


def agree(result: ScanResult, rows: int) -> None:
    """The scan's figures, against the generator's arithmetic."""
    failed = {outcome.check_id: outcome.failed_records for outcome in result.outcomes}
    assert all(outcome.error is None for outcome in result.outcomes), result.outcomes
    assert failed[2] == (rows + 49) // 50, failed[2]  # amount null where id % 50 == 0
    assert failed[12] == 1  # id 0 is not positive
    assert failed[18] == rows - (rows + 2) // 3  # status is "active" where id % 3 == 0
    assert sum(1 for value in failed.values() if value) == 3, failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument(
        "--with-unique", action="store_true", help="make the last check a unique (a shuffle)"
    )
    args = parser.parse_args(argv)
    specs = checks(args.with_unique)
    with tempfile.TemporaryDirectory(prefix="dqp-bench-scan-") as tmp:
        root = Path(tmp)
        folder = root / "store"
        folder.mkdir()
        settings = Settings(
            data_dir=root / "data",
            files_roots=(root,),
            spark_master="local[*]",
            spark_driver_memory=args.driver_memory,
        )
        engine = SparkEngine(settings)
        engine.start()
        try:
            spark = engine.session
            started = time.monotonic()
            generate(spark, folder / CONTAINER, args.rows)
            generated = time.monotonic() - started
            size_mb = sum(p.stat().st_size for p in (folder / CONTAINER).rglob("*")) / 2**20
            # Warm the JVM (classes, JIT) on the same files before anything is timed.
            spark.read.parquet(str(folder / CONTAINER)).count()
            started = time.monotonic()
            counted = spark.read.parquet(str(folder / CONTAINER)).count()
            count_s = time.monotonic() - started
            # Parquet answers count() from its footers without reading a value: a read of
            # every column (one aggregate each) is the other yardstick.
            table = spark.read.parquet(str(folder / CONTAINER))
            started = time.monotonic()
            table.agg(*[F.max(name) for name in table.columns]).collect()
            read_s = time.monotonic() - started
            started = time.monotonic()
            result = scan(engine, folder, specs)
            scan_s = time.monotonic() - started
            assert counted == args.rows
            if not args.with_unique:
                agree(result, args.rows)
        finally:
            engine.stop()

    rows = args.rows
    print(f"\nScan of {rows:,} rows of Parquet ({size_mb:.0f} MiB), {len(specs)} per-record checks")
    print(f"Spark {settings.spark_master}, driver memory {args.driver_memory}; {machine()}")
    print(f"(generated in {generated:.1f} s; one timed run of each, after a warm-up count)")
    print(f"{'measure':<50}{'seconds':>10}{'rows/s':>14}")
    for label, seconds in (
        ("df.count() (one read)", count_s),
        ("max() of every column (one read of the values)", read_s),
        (f"run_scan ({len(specs)} checks, {len(result.anomalies)} failing)", scan_s),
    ):
        print(f"{label:<50}{seconds:>10.2f}{rows / seconds:>14,.0f}")
    print(f"{'scan time / count time (goal: <= 3)':<50}{scan_s / count_s:>10.2f}")
    print(f"{'scan time / read-every-column time':<50}{scan_s / read_s:>10.2f}")


if __name__ == "__main__":
    main()
