"""The profile operation: per field its type, nulls, distinct values, min, max and mean."""

from __future__ import annotations

import math
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, MapType, NumericType, StructField, StructType

from dqplatform.dataplane.operations.context import OperationContext
from dqplatform.dataplane.operations.errors import spark_errors
from dqplatform.dataplane.operations.readers import read_container, selected_containers
from dqplatform.dataplane.operations.scope import operation_scope
from dqplatform.dataplane.operations.values import column, text_of
from dqplatform.messaging.operations import FieldProfile, ProfileResult

_RECORDS = "__dqp_records"


def _comparable(field: StructField) -> Column:
    """A value Spark can count distinct and order: nested values are compared as JSON."""
    if isinstance(field.dataType, ArrayType | MapType | StructType):
        return F.to_json(column(field.name))
    return column(field.name)


def profile_aggregations(df: DataFrame) -> list[Column]:
    """Every figure of every field as one aggregation, so the data is read once."""
    figures = [F.count(F.lit(1)).alias(_RECORDS)]
    for index, field in enumerate(df.schema.fields):
        value = _comparable(field)
        figures += [
            F.count(value).alias(f"present_{index}"),
            F.count_distinct(value).alias(f"distinct_{index}"),
            F.min(value).alias(f"min_{index}"),
            F.max(value).alias(f"max_{index}"),
        ]
        if isinstance(field.dataType, NumericType):
            figures.append(F.avg(column(field.name)).alias(f"mean_{index}"))
    return figures


def _mean(value: Any) -> float | None:
    if value is None:
        return None
    mean = float(value)
    # A column holding NaN or infinity has no meaningful mean (and JSON could not carry it).
    return mean if math.isfinite(mean) else None


def profiles_from(
    container: str, df: DataFrame, figures: dict[str, Any], sampled: bool
) -> list[FieldProfile]:
    records = int(figures[_RECORDS])
    return [
        FieldProfile(
            container=container,
            field=field.name,
            type=field.dataType.simpleString(),
            record_count=records,
            nulls=records - int(figures[f"present_{index}"]),
            distinct=int(figures[f"distinct_{index}"]),
            min=text_of(figures[f"min_{index}"]),
            max=text_of(figures[f"max_{index}"]),
            mean=_mean(figures.get(f"mean_{index}")),
            sampled=sampled,
        )
        for index, field in enumerate(df.schema.fields)
    ]


def run_profile(ctx: OperationContext) -> ProfileResult:
    profiles: list[FieldProfile] = []
    with operation_scope(ctx):
        containers = selected_containers(ctx)
        ctx.update(total_containers=len(containers))
        for done, container in enumerate(containers, start=1):
            ctx.cancel.raise_if_cancelled()
            df, sampled = read_container(ctx, container)
            with spark_errors(ctx, f"profiling {container.type} {container.name!r}"):
                row = df.agg(*profile_aggregations(df)).collect()[0]
            figures = row.asDict()
            profiles += profiles_from(container.name, df, figures, sampled)
            ctx.update(containers_analyzed=done, add_records=int(figures[_RECORDS]))
    return ProfileResult(profiles=profiles)
