"""Which rule module judges each rule type: a check becomes the Spark work of its rule."""

from __future__ import annotations

from collections.abc import Callable

from dqplatform.dataplane.operations.rules import aggregate, groups, record, reference, schema
from dqplatform.dataplane.operations.rules import text as text_rules
from dqplatform.dataplane.operations.rules import time as time_rules
from dqplatform.dataplane.operations.rules.base import Rule, RuleInput
from dqplatform.messaging.rules import RuleType

R = RuleType
BUILDERS: dict[RuleType, Callable[[RuleInput], Rule]] = {
    R.AFTER_DATE_TIME: time_rules.after_date_time,
    R.AGGREGATION_COMPARISON: reference.aggregation_comparison,
    R.ANY_NOT_NULL: record.any_not_null,
    R.BEFORE_DATE_TIME: time_rules.before_date_time,
    R.BETWEEN: record.between,
    R.BETWEEN_TIMES: time_rules.between_times,
    R.CONTAINS_CREDIT_CARD: text_rules.contains_credit_card,
    R.CONTAINS_EMAIL: text_rules.contains_email,
    R.CONTAINS_SOCIAL_SECURITY_NUMBER: text_rules.contains_ssn,
    R.CONTAINS_URL: text_rules.contains_url,
    R.DATA_DIFF: reference.data_diff,
    R.DISTINCT_COUNT: aggregate.distinct_count,
    R.ENTITY_RESOLUTION: groups.entity_resolution,
    R.EQUAL_TO: record.equal_to,
    R.EQUAL_TO_FIELD: record.compare_field,
    R.EXISTS_IN: reference.exists_in,
    R.EXPECTED_SCHEMA: schema.expected_schema,
    R.EXPECTED_VALUES: record.expected_values,
    R.FIELD_COUNT: schema.field_count,
    R.FRESHNESS: time_rules.freshness,
    R.GREATER_THAN: record.greater_than,
    R.GREATER_THAN_FIELD: record.compare_field,
    R.IS_ADDRESS: text_rules.is_address,
    R.IS_CREDIT_CARD: text_rules.is_credit_card,
    R.IS_REPLICA_OF: reference.is_replica_of,
    R.IS_TYPE: record.is_type,
    R.LESS_THAN: record.less_than,
    R.LESS_THAN_FIELD: record.compare_field,
    R.MATCHES_PATTERN: text_rules.matches_pattern,
    R.MAX_LENGTH: text_rules.max_length,
    R.MAX_PARTITION_SIZE: aggregate.partition_size,
    R.MAX_VALUE: record.max_value,
    R.METRIC: aggregate.metric,
    R.MIN_LENGTH: text_rules.min_length,
    R.MIN_PARTITION_SIZE: aggregate.partition_size,
    R.MIN_VALUE: record.min_value,
    R.NOT_EXISTS_IN: reference.exists_in,
    R.NOT_FUTURE: time_rules.not_future,
    R.NOT_NEGATIVE: record.not_negative,
    R.NOT_NULL: record.not_null,
    R.POSITIVE: record.positive,
    R.REQUIRED_VALUES: aggregate.required_values,
    R.SATISFIES_EXPRESSION: record.satisfies_expression,
    R.SUM: aggregate.sum_rule,
    R.TIME_DISTRIBUTION_SIZE: time_rules.time_distribution_size,
    R.UNIQUE: groups.unique,
    R.VOLUMETRIC: aggregate.volumetric,
}


def rule_for(rule_input: RuleInput) -> Rule:
    """The Spark work of the check; CheckNotEvaluable when its fields or properties do not
    fit the data."""
    return BUILDERS[rule_input.check.rule](rule_input)
