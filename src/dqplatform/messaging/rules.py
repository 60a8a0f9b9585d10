"""The rule library's names and contracts, shared by both planes.

The names are the public client's (qualytics-cli's `RULE_CONTRACT`, the platform's
`RuleType`): camelCase, stored and sent as they are. Our first five rules had snake_case
names; those still work as aliases and are stored under their camelCase name.

A rule's properties (the parameters it takes, in the client's names) are validated by
`dqplatform.messaging.rule_properties`, so that the controlplane refuses a bad check at
creation and the dataplane reads the same typed values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class RuleType(StrEnum):
    AFTER_DATE_TIME = "afterDateTime"
    AGGREGATION_COMPARISON = "aggregationComparison"
    ANY_NOT_NULL = "anyNotNull"
    BEFORE_DATE_TIME = "beforeDateTime"
    BETWEEN = "between"
    BETWEEN_TIMES = "betweenTimes"
    CONTAINS_CREDIT_CARD = "containsCreditCard"
    CONTAINS_EMAIL = "containsEmail"
    CONTAINS_SOCIAL_SECURITY_NUMBER = "containsSocialSecurityNumber"
    CONTAINS_URL = "containsUrl"
    DATA_DIFF = "dataDiff"
    DISTINCT_COUNT = "distinctCount"
    ENTITY_RESOLUTION = "entityResolution"
    EQUAL_TO = "equalTo"
    EQUAL_TO_FIELD = "equalToField"
    EXISTS_IN = "existsIn"
    EXPECTED_SCHEMA = "expectedSchema"
    EXPECTED_VALUES = "expectedValues"
    FIELD_COUNT = "fieldCount"
    FRESHNESS = "freshness"
    GREATER_THAN = "greaterThan"
    GREATER_THAN_FIELD = "greaterThanField"
    IS_ADDRESS = "isAddress"
    IS_CREDIT_CARD = "isCreditCard"
    IS_REPLICA_OF = "isReplicaOf"
    IS_TYPE = "isType"
    LESS_THAN = "lessThan"
    LESS_THAN_FIELD = "lessThanField"
    MATCHES_PATTERN = "matchesPattern"
    MAX_LENGTH = "maxLength"
    MAX_PARTITION_SIZE = "maxPartitionSize"
    MAX_VALUE = "maxValue"
    METRIC = "metric"
    MIN_LENGTH = "minLength"
    MIN_PARTITION_SIZE = "minPartitionSize"
    MIN_VALUE = "minValue"
    NOT_EXISTS_IN = "notExistsIn"
    NOT_FUTURE = "notFuture"
    NOT_NEGATIVE = "notNegative"
    NOT_NULL = "notNull"
    POSITIVE = "positive"
    REQUIRED_VALUES = "requiredValues"
    SATISFIES_EXPRESSION = "satisfiesExpression"
    SUM = "sum"
    TIME_DISTRIBUTION_SIZE = "timeDistributionSize"
    UNIQUE = "unique"
    VOLUMETRIC = "volumetric"


# Our first names, still accepted on input (never sent back).
LEGACY_ALIASES: dict[str, RuleType] = {
    "not_null": RuleType.NOT_NULL,
    "unique": RuleType.UNIQUE,
    "between": RuleType.BETWEEN,
    "matches_pattern": RuleType.MATCHES_PATTERN,
    "expected_values": RuleType.EXPECTED_VALUES,
}

FieldArity = Literal["multi", "single", "calculated", "none"]
# record: the rule judges each record, failing records are the anomaly's source records.
# shape: the rule judges the container (or an aggregate) as a whole.
AnomalyType = Literal["record", "shape"]


@dataclass(frozen=True, slots=True)
class RuleContract:
    """What a rule accepts beside its properties, as the client's `Contract` has it."""

    fields: FieldArity
    filterable: bool
    coverage: bool
    anomaly_type: AnomalyType
    # Reads a second container (ref_datastore_id / ref_container_id in its properties).
    cross_container: bool = False


def _record(fields: FieldArity = "single", coverage: bool = True) -> RuleContract:
    return RuleContract(fields, filterable=True, coverage=coverage, anomaly_type="record")


def _shape(fields: FieldArity = "single", filterable: bool = True) -> RuleContract:
    return RuleContract(fields, filterable=filterable, coverage=False, anomaly_type="shape")


# The client's RULE_CONTRACT for the rules it lists; the user guide for the others.
CONTRACTS: dict[RuleType, RuleContract] = {
    RuleType.AFTER_DATE_TIME: _record(),
    RuleType.AGGREGATION_COMPARISON: RuleContract(
        "calculated", True, False, "shape", cross_container=True
    ),
    RuleType.ANY_NOT_NULL: _record("multi"),
    RuleType.BEFORE_DATE_TIME: _record(),
    RuleType.BETWEEN: _record(),
    RuleType.BETWEEN_TIMES: _record(),
    RuleType.CONTAINS_CREDIT_CARD: _record(),
    RuleType.CONTAINS_EMAIL: _record(),
    RuleType.CONTAINS_SOCIAL_SECURITY_NUMBER: _record(),
    RuleType.CONTAINS_URL: _record(),
    RuleType.DATA_DIFF: RuleContract("multi", True, False, "record", cross_container=True),
    RuleType.DISTINCT_COUNT: _shape(),
    RuleType.ENTITY_RESOLUTION: _record(),
    RuleType.EQUAL_TO: _record("multi"),
    RuleType.EQUAL_TO_FIELD: _record(),
    RuleType.EXISTS_IN: RuleContract("single", True, True, "record", cross_container=True),
    RuleType.EXPECTED_SCHEMA: _shape("none", filterable=False),
    RuleType.EXPECTED_VALUES: _record(),
    RuleType.FIELD_COUNT: _shape("none", filterable=False),
    RuleType.FRESHNESS: _shape("none", filterable=False),
    RuleType.GREATER_THAN: _record(),
    RuleType.GREATER_THAN_FIELD: _record(),
    RuleType.IS_ADDRESS: _record(),
    RuleType.IS_CREDIT_CARD: _record(),
    RuleType.IS_REPLICA_OF: RuleContract("multi", True, False, "shape", cross_container=True),
    RuleType.IS_TYPE: _record(),
    RuleType.LESS_THAN: _record(),
    RuleType.LESS_THAN_FIELD: _record(),
    RuleType.MATCHES_PATTERN: _record(),
    RuleType.MAX_LENGTH: _record(),
    RuleType.MAX_PARTITION_SIZE: _shape("none"),
    RuleType.MAX_VALUE: _record(),
    RuleType.METRIC: _shape(),
    RuleType.MIN_LENGTH: _record(),
    RuleType.MIN_PARTITION_SIZE: _shape("none"),
    RuleType.MIN_VALUE: _record(),
    RuleType.NOT_EXISTS_IN: RuleContract("single", True, True, "record", cross_container=True),
    RuleType.NOT_FUTURE: _record(),
    RuleType.NOT_NEGATIVE: _record(),
    RuleType.NOT_NULL: _record("multi"),
    RuleType.POSITIVE: _record(),
    RuleType.REQUIRED_VALUES: _shape(),
    RuleType.SATISFIES_EXPRESSION: _record("calculated"),
    RuleType.SUM: _shape(),
    RuleType.TIME_DISTRIBUTION_SIZE: _shape(),
    RuleType.UNIQUE: _record("multi"),
    RuleType.VOLUMETRIC: _shape("none", filterable=False),
}


def canonical_rule(name: str) -> RuleType:
    """The rule called `name` (camelCase, or one of our old snake_case names); ValueError
    naming the known rules otherwise."""
    try:
        return RuleType(name)
    except ValueError:
        pass
    if name in LEGACY_ALIASES:
        return LEGACY_ALIASES[name]
    known = ", ".join(sorted(rule.value for rule in RuleType))
    raise ValueError(f"unknown rule {name!r}; the rules are: {known}")
