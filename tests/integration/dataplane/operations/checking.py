"""Assertions the operation tests share: a profile or a scan against the expected figures."""

from __future__ import annotations

import pytest

from dqplatform.messaging.operations import ProfileResult, ScanResult
from tests.integration.dataplane.operations.dataset import (
    EXPECTED_ANOMALIES,
    NOT_EVALUABLE,
    ExpectedProfile,
)


def assert_profiles(
    result: ProfileResult,
    container: str,
    expected: dict[str, ExpectedProfile],
    types: dict[str, str],
) -> None:
    profiles = [p for p in result.profiles if p.container == container]
    assert [p.field for p in profiles] == list(expected), container
    for profile in profiles:
        want = expected[profile.field]
        where = f"{container}.{profile.field}"
        assert profile.type == types[profile.field], where
        assert profile.record_count == want.record_count, where
        assert profile.nulls == want.nulls, where
        assert profile.distinct == want.distinct, where
        assert profile.min == want.min, where
        assert profile.max == want.max, where
        if want.mean is None:
            assert profile.mean is None, where
        else:
            assert profile.mean == pytest.approx(want.mean, rel=1e-9), where
        assert profile.sampled is False, where


def assert_planted_anomalies(result: ScanResult, customers: str, checks_evaluated: int) -> None:
    """Exactly the planted anomalies, each with its failing rows as samples, and the check
    on a missing field reported; nothing else."""
    assert result.checks_evaluated == checks_evaluated
    found = {finding.check_id: finding for finding in result.anomalies}
    assert len(found) == len(result.anomalies), "one finding per check"
    assert set(found) == set(EXPECTED_ANOMALIES) | set(NOT_EVALUABLE)
    for check_id, want in EXPECTED_ANOMALIES.items():
        finding = found[check_id]
        assert finding.container == customers
        assert finding.failed_records == want.failed_records, finding.message
        assert finding.message == want.message
        assert {row["id"] for row in finding.sample_rows} == want.ids, finding.message
        # Whole rows, JSON-safe: every field is there, dates and decimals as text.
        for row in finding.sample_rows:
            assert set(row) == {"id", "email", "code", "age", "score", "status", "signup"}
            assert isinstance(row["signup"], str)
    for check_id, message in NOT_EVALUABLE.items():
        finding = found[check_id]
        assert finding.failed_records == 0
        assert finding.sample_rows == []
        assert finding.message.startswith(message), finding.message
