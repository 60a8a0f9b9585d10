"""The profile's figures of every field of a DataFrame, computed in one pass over its rows.

Spark's own plan for several exact distinct counts next to min and max of text copies every
row once per field and, because a text minimum has no fixed-width buffer, sorts all those
copies (SortAggregate). Here every row becomes one (field, value) pair per field, the pairs
are counted by a hash aggregation (only a count per pair: fixed width), and each field's
figures are read off its distinct values and their counts: the number of values is the
distinct count, the count of the null value the nulls, and min, max and mean follow from
the values and their counts. Same data read once, no sort; bench/bench_profile.py measures it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, NumericType, StringType, StructType

from dqplatform.dataplane.operations.values import column, text_of

_FIELD = "__dqp_field"
_COUNT = "__dqp_count"


@dataclass(frozen=True)
class FieldFigures:
    name: str
    type: str
    nulls: int
    distinct: int
    min: str | None
    max: str | None
    mean: float | None


def _value(name: str, data_type: DataType) -> tuple[Column, DataType]:
    """A value Spark can group and order: nested values are compared as their JSON text."""
    if isinstance(data_type, ArrayType | MapType | StructType):
        return F.to_json(column(name)), StringType()
    return column(name), data_type


def _mean(total: Any, present: Any) -> float | None:
    if total is None or not present:
        return None
    mean = float(total) / float(present)
    # A field holding NaN or infinity has no meaningful mean (and JSON could not carry it).
    return mean if math.isfinite(mean) else None


def field_figures(df: DataFrame) -> tuple[int, list[FieldFigures]]:
    """(records, the figures of each field in schema order), reading `df` once."""
    fields = df.schema.fields
    if not fields:
        return df.count(), []
    values = [_value(field.name, field.dataType) for field in fields]
    # One key column per distinct value type: a field's values keep their own ordering.
    key_types: dict[str, DataType] = {}
    for _, data_type in values:
        key_types.setdefault(data_type.simpleString(), data_type)
    key_of = {name: f"__dqp_key_{index}" for index, name in enumerate(key_types)}
    pairs = [
        F.struct(
            F.lit(index).alias(_FIELD),
            *(
                (value if name == data_type.simpleString() else F.lit(None).cast(key_type)).alias(
                    key_of[name]
                )
                for name, key_type in key_types.items()
            ),
        )
        for index, (value, data_type) in enumerate(values)
    ]
    counted = (
        df.select(F.inline(F.array(*pairs)))
        .groupBy(_FIELD, *key_of.values())
        .agg(F.count(F.lit(1)).alias(_COUNT))
    )
    count = F.col(_COUNT)
    figures = [F.sum(F.when(F.col(_FIELD) == 0, count)).alias("records")]
    for index, (_, data_type) in enumerate(values):
        mine = F.col(_FIELD) == index
        key = F.col(key_of[data_type.simpleString()])
        figures += [
            F.sum(F.when(mine & key.isNull(), count)).alias(f"nulls_{index}"),
            F.count(F.when(mine, key)).alias(f"distinct_{index}"),
            F.min(F.when(mine, key)).alias(f"min_{index}"),
            F.max(F.when(mine, key)).alias(f"max_{index}"),
        ]
        if isinstance(fields[index].dataType, NumericType):
            figures += [
                F.sum(F.when(mine, key.cast("double") * count)).alias(f"total_{index}"),
                F.sum(F.when(mine & key.isNotNull(), count)).alias(f"present_{index}"),
            ]
    row = counted.agg(*figures).collect()[0].asDict()
    result = [
        FieldFigures(
            name=field.name,
            type=field.dataType.simpleString(),
            nulls=int(row[f"nulls_{index}"] or 0),
            distinct=int(row[f"distinct_{index}"]),
            min=text_of(row[f"min_{index}"]),
            max=text_of(row[f"max_{index}"]),
            mean=_mean(row.get(f"total_{index}"), row.get(f"present_{index}")),
        )
        for index, field in enumerate(fields)
    ]
    return int(row["records"] or 0), result
