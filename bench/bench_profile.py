"""Rows per second of the profile operation next to a plain Spark aggregation of the same
figures over the same generated Parquet data, in one run.

Run: `python -m bench.bench_profile [--rows N] [--repeat K]` (or `make bench`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bench.stack import machine
from dqplatform.dataplane.engine import SparkEngine
from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.profile import run_profile
from dqplatform.dataplane.operations.values import text_of
from dqplatform.dataplane.pool import CancelToken
from dqplatform.messaging.operations import DatastoreSpec, ProfileResult, RunOperation
from dqplatform.settings import Settings

ROWS = 10_000_000
NUMERIC = ("id", "bucket", "amount")
CONTAINER = "events.parquet"


def generate(spark: SparkSession, path: Path, rows: int) -> None:
    """A few typed columns derived from the row number, with nulls in two of them."""
    spark.range(rows).select(
        F.col("id"),
        (F.col("id") % 1000).cast("int").alias("bucket"),
        F.when(F.col("id") % 50 == 0, None)
        .otherwise((F.col("id") * 7919 % 1_000_003) / 100.0)
        .alias("amount"),
        F.when(F.col("id") % 97 == 0, None)
        .otherwise(F.concat(F.lit("user-"), (F.col("id") % 250_000).cast("string")))
        .alias("name"),
        F.date_add(F.lit("2024-01-01").cast("date"), (F.col("id") % 366).cast("int")).alias("day"),
    ).write.parquet(str(path))


def plain_aggregation(df: DataFrame) -> dict[str, Any]:
    """The profile's figures written by hand, as anyone would with Spark alone."""
    figures = [F.count(F.lit(1)).alias("records")]
    for name in df.columns:
        figures += [
            F.count(name).alias(f"{name}:present"),
            F.count_distinct(name).alias(f"{name}:distinct"),
            F.min(name).alias(f"{name}:min"),
            F.max(name).alias(f"{name}:max"),
        ]
        if name in NUMERIC:
            figures.append(F.avg(name).alias(f"{name}:mean"))
    return df.agg(*figures).collect()[0].asDict()


def profile(engine: SparkEngine, folder: Path) -> ProfileResult:
    request = RunOperation(
        operation_id=1,
        attempt=1,
        type="profile",
        datastore=DatastoreSpec(kind="files", path=str(folder), file_format="parquet"),
    )
    ctx = OperationContext(
        request=request,
        engine=engine,
        cancel=CancelToken("bench"),
        # Large enough to profile every row: the benchmark measures the work, not a sample.
        max_dataframe_size_mb=1_000_000,
        report=lambda progress: None,
    )
    return run_profile(ctx)


def agree(result: ProfileResult, plain: dict[str, Any]) -> None:
    """Both ways must compute the same figures, or the comparison means nothing."""
    for field in result.profiles:
        name = field.field
        assert field.record_count == plain["records"], name
        assert field.nulls == plain["records"] - plain[f"{name}:present"], name
        assert field.distinct == plain[f"{name}:distinct"], name
        assert field.min == text_of(plain[f"{name}:min"]), name
        assert field.max == text_of(plain[f"{name}:max"]), name
        if name in NUMERIC:
            assert field.mean is not None
            assert abs(field.mean - plain[f"{name}:mean"]) <= 1e-9 * abs(field.mean) + 1e-9


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each (median)")
    parser.add_argument("--driver-memory", default="2g")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dqp-bench-profile-") as tmp:
        root = Path(tmp)
        folder = root / "store"
        folder.mkdir()
        settings = Settings(
            data_dir=root / "data", spark_master="local[*]", spark_driver_memory=args.driver_memory
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
            plain_times, profile_times = [], []
            result: ProfileResult | None = None
            plain: dict[str, Any] = {}
            for _ in range(args.repeat):
                # Interleaved, so that a busier moment of the machine hits both alike.
                started = time.monotonic()
                plain = plain_aggregation(spark.read.parquet(str(folder / CONTAINER)))
                plain_times.append(time.monotonic() - started)
                started = time.monotonic()
                result = profile(engine, folder)
                profile_times.append(time.monotonic() - started)
            assert result is not None
            agree(result, plain)
        finally:
            engine.stop()

    rows = args.rows
    plain_s, profile_s = statistics.median(plain_times), statistics.median(profile_times)
    columns = len(result.profiles)
    print(f"\nProfile of {rows:,} rows x {columns} columns of Parquet ({size_mb:.0f} MiB)")
    print(f"Spark {settings.spark_master}, driver memory {args.driver_memory}; {machine()}")
    print(f"(generated in {generated:.1f} s; median of {args.repeat} interleaved runs each)")
    print(f"{'measure':<44}{'seconds':>10}{'rows/s':>14}")
    for label, seconds in (
        ("plain Spark aggregation (same figures)", plain_s),
        ("run_profile (the profile operation)", profile_s),
    ):
        print(f"{label:<44}{seconds:>10.2f}{rows / seconds:>14,.0f}")
    print(f"{'run_profile time / plain time':<44}{profile_s / plain_s:>10.2f}")


if __name__ == "__main__":
    main()
