"""The rule library's wiring and its pure arithmetic: every rule has a builder and a
properties model, coverage and history comparisons decide as documented."""

from __future__ import annotations

import pytest

from dqplatform.dataplane.operations.checks import BUILDERS
from dqplatform.dataplane.operations.rules.aggregate import compare_with_history
from dqplatform.dataplane.operations.scan_results import covered
from dqplatform.messaging.operations import CheckSpec
from dqplatform.messaging.rule_properties import (
    PROPERTIES,
    RangeComparisonProperties,
    dump_properties,
    parse_properties,
)
from dqplatform.messaging.rules import CONTRACTS, RuleType


def test_every_rule_has_a_builder_a_contract_and_properties() -> None:
    assert set(BUILDERS) == set(RuleType)
    assert set(CONTRACTS) == set(RuleType)
    assert set(PROPERTIES) == set(RuleType)


def _check(rule: RuleType, coverage: float | None) -> CheckSpec:
    return CheckSpec(id=1, container="t", rule=rule, fields=["a"], coverage=coverage)


@pytest.mark.parametrize(
    ("coverage", "records", "failed", "passes"),
    [
        (None, 100, 0, True),
        (None, 100, 1, False),
        (None, 0, 0, True),  # nothing judged: nothing failed
        (0.9, 100, 10, True),  # 90 % pass: exactly the coverage
        (0.9, 100, 11, False),
        (0.0, 100, 100, True),
        (1.0, 100, 1, False),
    ],
)
def test_coverage_is_the_share_that_must_pass(
    coverage: float | None, records: int, failed: int, passes: bool
) -> None:
    assert covered(_check(RuleType.NOT_NULL, coverage), records, failed) is passes


def test_coverage_is_ignored_where_the_rule_takes_none() -> None:
    # dataDiff's contract has no coverage: any difference fails it.
    assert covered(_check(RuleType.DATA_DIFF, 0.5), 100, 1) is False


def _range(comparison: str, low: float | None, high: float | None) -> RangeComparisonProperties:
    props = parse_properties(RuleType.METRIC, {"comparison": comparison, "min": low, "max": high})
    assert isinstance(props, RangeComparisonProperties)
    return props


def test_absolute_value_needs_no_history() -> None:
    assert compare_with_history("x", 5, [], 1, _range("Absolute Value", 1, 5))[0] is True
    assert compare_with_history("x", 6, [], 1, _range("Absolute Value", 1, 5))[0] is False


def test_changes_without_history_are_not_judged_yet() -> None:
    passed, message = compare_with_history("x", 1e9, [], 1, _range("Absolute Change", 0, 1))
    assert passed is True
    assert "no earlier scan" in message


def test_changes_are_measured_from_the_mean_of_the_window() -> None:
    absolute = _range("Absolute Change", -5, 5)
    assert compare_with_history("x", 105, [0, 100], 1, absolute)[0] is True
    assert compare_with_history("x", 105, [0, 100], 2, absolute)[0] is False  # from 50
    percent = _range("Percentage Change", None, 10)
    assert compare_with_history("x", 110, [100], 1, percent)[0] is True
    assert compare_with_history("x", 111, [100], 1, percent)[0] is False
    assert compare_with_history("x", 0, [0], 1, percent)[0] is True


def test_the_user_guides_property_names_are_read_as_ours() -> None:
    distribution = dump_properties(
        RuleType.TIME_DISTRIBUTION_SIZE, {"interval_name": "Monthly", "min_size": 5, "max_size": 9}
    )
    assert distribution == {"interval": "month", "min": 5, "max": 9}
    entity = dump_properties(RuleType.ENTITY_RESOLUTION, {"distinct_field_name": "id"})
    assert entity["distinction_field_name"] == "id"
