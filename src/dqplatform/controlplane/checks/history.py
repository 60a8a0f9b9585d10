"""Each check's result per scan (check_results), and the history a volumetric or metric
check is judged against: the figures earlier scans measured, oldest first."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dqplatform.controlplane.checks.models import CheckResult, QualityCheck
from dqplatform.controlplane.dataplane_values import clean_text
from dqplatform.controlplane.db.base import utcnow
from dqplatform.messaging.operations import CheckOutcome
from dqplatform.messaging.rules import RuleType

# The rules whose judgement compares with earlier scans (the dataplane's
# rules/aggregate.compare_with_history).
HISTORY_RULES = frozenset({RuleType.VOLUMETRIC, RuleType.METRIC})


def store_outcomes(session: Session, operation_id: int, outcomes: Iterable[CheckOutcome]) -> int:
    """Store a scan's outcomes, once each: a result stored again (a redelivered scan) or
    the outcome of a check deleted meanwhile is skipped. Returns how many were new."""
    wanted = {outcome.check_id: outcome for outcome in outcomes}
    if not wanted:
        return 0
    existing = set(session.scalars(select(QualityCheck.id).where(QualityCheck.id.in_(wanted))))
    rows = [
        {
            "check_id": outcome.check_id,
            "operation_id": operation_id,
            "passed": outcome.passed,
            "records": outcome.records,
            "failed_records": outcome.failed_records,
            "value": outcome.value,
            "error": None if outcome.error is None else clean_text(outcome.error),
            "created_at": utcnow(),
        }
        for check_id, outcome in wanted.items()
        if check_id in existing
    ]
    if not rows:
        return 0
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(CheckResult)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["check_id", "operation_id"])
        .returning(CheckResult.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for a batched insert.
    return len(session.execute(statement).all())


def window_of(rule: RuleType, properties: dict[str, object]) -> int:
    """How many earlier figures the rule compares with (volumetric: its window_size)."""
    if rule == RuleType.VOLUMETRIC:
        size = properties.get("window_size", 1)
        return size if isinstance(size, int) and size > 0 else 1
    return 1


def history_for(session: Session, check_id: int, window: int) -> list[float]:
    """The last `window` figures the check measured in scans that judged it, oldest first."""
    values = session.scalars(
        select(CheckResult.value)
        .where(
            CheckResult.check_id == check_id,
            CheckResult.value.is_not(None),
            CheckResult.error.is_(None),
        )
        .order_by(CheckResult.id.desc())
        .limit(window)
    ).all()
    return [float(value) for value in reversed(values) if value is not None]
