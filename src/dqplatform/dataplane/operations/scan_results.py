"""A scan's findings and outcomes: one outcome for every check, a finding for each that
fails or cannot be judged, and the coverage that decides a per-record check."""

from __future__ import annotations

from typing import Any

from dqplatform.dataplane.operations.rules.base import Verdict
from dqplatform.messaging.operations import (
    SAMPLE_ROWS_PER_ANOMALY,
    AnomalyFinding,
    CheckOutcome,
    CheckSpec,
)
from dqplatform.messaging.rules import CONTRACTS


def covered(check: CheckSpec, records: int, failed: int) -> bool:
    """The check passes when the share of judged records that pass reaches its coverage
    (all of them without one); no record judged is no failure."""
    if records == 0 or failed == 0:
        return True
    if check.coverage is None or not CONTRACTS[check.rule].coverage:
        return False
    return (records - failed) / records >= check.coverage


def counted_verdict(
    check: CheckSpec,
    records: int,
    failed: int,
    message: str,
    samples: list[dict[str, Any]] | None = None,
) -> Verdict:
    """The verdict of a per-record check from its counts: its coverage decides, and the
    message says what was asked when a coverage was given."""
    if check.coverage is not None and failed and records:
        share = (records - failed) / records
        message += f" ({share:.2%} pass, {check.coverage:.2%} required)"
    return Verdict(covered(check, records, failed), records, failed, message, samples or [])


def record_message(check: CheckSpec, records: int, failed: int, text: str) -> str:
    """ "email: 3 of 300 records have a null value"."""
    message = f"{failed} of {records} records {text}"
    where = ", ".join(check.fields)
    return f"{where}: {message}" if where else message


class ScanResults:
    """The findings and outcomes of a scan, one outcome per check."""

    def __init__(self) -> None:
        self.findings: list[AnomalyFinding] = []
        self.outcomes: list[CheckOutcome] = []

    def not_evaluable(self, check: CheckSpec, reason: str) -> None:
        """A check that could not be judged is reported as failed, never silently skipped."""
        self.findings.append(
            AnomalyFinding(
                check_id=check.id,
                container=check.container,
                fields=check.fields,
                rule=check.rule,
                type="shape",
                failed_records=0,
                sample_rows=[],
                message=f"check {check.id} could not be evaluated: {reason}",
            )
        )
        self.outcomes.append(CheckOutcome(check_id=check.id, passed=False, error=reason))

    def add(self, check: CheckSpec, verdict: Verdict, sample_of: int | None) -> None:
        self.outcomes.append(
            CheckOutcome(
                check_id=check.id,
                passed=verdict.passed,
                records=verdict.records,
                failed_records=verdict.failed,
                value=verdict.value,
            )
        )
        if verdict.passed:
            return
        message = verdict.message
        if sample_of is not None:
            message += f" (in a sample of {sample_of} records)"
        self.findings.append(
            AnomalyFinding(
                check_id=check.id,
                container=check.container,
                fields=check.fields,
                rule=check.rule,
                type=CONTRACTS[check.rule].anomaly_type,
                records=verdict.records,
                failed_records=verdict.failed,
                sample_rows=verdict.samples[:SAMPLE_ROWS_PER_ANOMALY],
                message=message,
            )
        )
