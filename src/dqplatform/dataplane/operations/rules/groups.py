"""Per-record rules judged on groups of records: unique and entityResolution. Each is one
window over the container's pass (a shuffle by its key), so it costs no pass of its own.
"""

from __future__ import annotations

from pyspark.sql import Column, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, MapType, StructType

from dqplatform.dataplane.operations.rules.base import (
    CheckNotEvaluable,
    RecordRule,
    RuleInput,
    family,
)
from dqplatform.dataplane.operations.values import column
from dqplatform.messaging.rule_properties import EntityResolutionProperties


def unique(rule: RuleInput) -> RecordRule:
    """Records whose key (the fields' values together) another judged record shares fail:
    the failed count is the records in repeated groups. As SQL's UNIQUE, a key with a null
    in it is no value: it passes and repeats nothing."""
    keys = []
    present = F.lit(True)
    for _, value, data_type in rule.many():
        nested = isinstance(data_type, ArrayType | MapType | StructType)
        keys.append(F.to_json(value) if nested else value)
        present = present & value.isNotNull()
    counted = rule.judged & present
    seen = F.sum(F.when(counted, 1).otherwise(0)).over(Window.partitionBy(*keys))
    names = ", ".join(rule.check.fields)
    return RecordRule(counted & (seen > 1), f"share their value of {names} with another record")


def entity_key(value: Column, homophones: bool) -> Column:
    """The name a record's entity is known by: lower case, letters and digits only; with
    homophones, its Soundex code (names that sound alike share it)."""
    normal = F.regexp_replace(F.lower(value.cast("string")), r"[^a-z0-9]", "")
    if homophones:
        return F.when(normal == "", None).otherwise(F.soundex(normal))
    return F.when(normal == "", None).otherwise(normal)


def entity_resolution(rule: RuleInput) -> RecordRule:
    """Records naming the same entity must share the distinction field's value. Entities are
    grouped by `entity_key` (exact after normalisation, or by sound with pair_homophones);
    the records of a group holding two or more distinction values fail. pair_substrings and
    spelling_similarity_threshold would need every pair of names compared, which no window
    does: they are accepted and not applied (docs/checks.md)."""
    p: EntityResolutionProperties = rule.props(EntityResolutionProperties)
    name, value, _ = rule.single()
    distinction_type = rule.field_type(p.distinction_field_name)
    if family(distinction_type) is None:
        raise CheckNotEvaluable(
            f"distinction field {p.distinction_field_name!r} is "
            f"{distinction_type.simpleString()}: it needs plain values"
        )
    key = entity_key(value, p.pair_homophones)
    distinction = column(p.distinction_field_name)
    counted = rule.judged & key.isNotNull()
    judged_value = F.when(counted, distinction)
    window = Window.partitionBy(key)
    # Two values differ when the group's least and greatest differ (distinct counts are no
    # window function).
    several = F.min(judged_value).over(window) != F.max(judged_value).over(window)
    text = f"name one entity by {name} under different {p.distinction_field_name} values"
    return RecordRule(counted & F.coalesce(several, F.lit(False)), text)
