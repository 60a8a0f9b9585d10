"""Checks and anomalies take the client's contract: camelCase rules over a list of fields
with properties, filter and coverage; templates; archive instead of delete; anomalies that
a later scan updates instead of duplicating, with the client's statuses.

Existing rows are carried over: a snake_case rule becomes its camelCase name, `field`
becomes `fields: [field]`, `params` becomes `properties` (with the property names the
client uses), and an anomaly's old status maps to the new one (archived -> Resolved).

Revision ID: 0007_checks_contract
Revises: 0006_publish_lease
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from dqplatform.controlplane.db.base import UTCDateTime

revision = "0007_checks_contract"
down_revision = "0006_publish_lease"
branch_labels = None
depends_on = None

_RULES = {
    "not_null": "notNull",
    "unique": "unique",
    "between": "between",
    "matches_pattern": "matchesPattern",
    "expected_values": "expectedValues",
}
_STATUSES = {"active": "Active", "acknowledged": "Acknowledged", "archived": "Resolved"}


def _properties(rule: str, params: dict[str, Any]) -> dict[str, Any]:
    """The old params in the client's property names (see messaging.rule_properties)."""
    if rule == "between":
        return {
            "min": params.get("min"),
            "inclusive_min": True,
            "max": params.get("max"),
            "inclusive_max": True,
        }
    if rule == "matches_pattern":
        return {"pattern": params.get("pattern")}
    if rule == "expected_values":
        return {"list": list(params.get("values", []))}
    return {}


def fingerprint(check_id: int | None, container: str, fields: list[str], rule: str) -> str:
    """Kept equal to controlplane.anomalies.fingerprint.anomaly_fingerprint."""
    key = json.dumps([check_id, container, fields, rule], separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("quality_checks") as batch:
        batch.drop_constraint(op.f("ck_quality_checks_rule"), type_="check")
        batch.alter_column("datastore_id", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("container", existing_type=sa.Text(), nullable=True)
        batch.alter_column("rule", existing_type=sa.String(32), type_=sa.String(64))
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("properties", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("filter", sa.Text(), nullable=True))
        batch.add_column(sa.Column("coverage", sa.Double(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("archive_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("is_template", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("template_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("template_locked", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("additional_metadata", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("anomaly_message_field", sa.Text(), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("default_anomaly_assignee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("extra", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("inferred", sa.Boolean(), nullable=True))

    checks = sa.table(
        "quality_checks",
        sa.column("id", sa.Integer()),
        sa.column("field", sa.Text()),
        sa.column("rule", sa.String(64)),
        sa.column("params", sa.JSON()),
        sa.column("fields", sa.JSON()),
        sa.column("properties", sa.JSON()),
        sa.column("status", sa.String(16)),
        sa.column("is_template", sa.Boolean()),
        sa.column("template_locked", sa.Boolean()),
        sa.column("tags", sa.JSON()),
        sa.column("additional_metadata", sa.JSON()),
        sa.column("extra", sa.JSON()),
        sa.column("inferred", sa.Boolean()),
    )
    for check in bind.execute(
        sa.select(checks.c.id, checks.c.field, checks.c.rule, checks.c.params)
    ):
        bind.execute(
            checks.update()
            .where(checks.c.id == check.id)
            .values(
                rule=_RULES.get(check.rule, check.rule),
                fields=[check.field],
                properties=_properties(check.rule, check.params or {}),
            )
        )
    bind.execute(
        checks.update().values(
            status="Active",
            is_template=False,
            template_locked=False,
            tags=[],
            additional_metadata={},
            extra={},
            inferred=False,
        )
    )

    with op.batch_alter_table("quality_checks") as batch:
        batch.drop_column("field")
        batch.drop_column("params")
        not_null_checks: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
            ("fields", sa.JSON()),
            ("properties", sa.JSON()),
            ("status", sa.String(16)),
            ("is_template", sa.Boolean()),
            ("template_locked", sa.Boolean()),
            ("tags", sa.JSON()),
            ("additional_metadata", sa.JSON()),
            ("extra", sa.JSON()),
            ("inferred", sa.Boolean()),
        )
        for name, type_ in not_null_checks:
            batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_foreign_key(
            op.f("fk_quality_checks_template_id_quality_checks"),
            "quality_checks",
            ["template_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_quality_checks_template_id"), ["template_id"])
        batch.create_check_constraint("status", "status IN ('Active', 'Draft')")
        batch.create_check_constraint(
            "archive_status",
            "archive_status IS NULL OR archive_status IN ('Discarded', 'Invalid', 'Resolved')",
        )
        batch.create_check_constraint(
            "placed", "is_template OR (datastore_id IS NOT NULL AND container IS NOT NULL)"
        )

    with op.batch_alter_table("anomalies") as batch:
        batch.drop_constraint(op.f("ck_anomalies_status"), type_="check")
        batch.alter_column("rule", existing_type=sa.String(32), type_=sa.String(64))
        batch.add_column(sa.Column("last_operation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fields", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("type", sa.String(16), nullable=True))
        batch.add_column(sa.Column("records", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=True))
        batch.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("assignee_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))

    anomalies = sa.table(
        "anomalies",
        sa.column("id", sa.Integer()),
        sa.column("operation_id", sa.Integer()),
        sa.column("last_operation_id", sa.Integer()),
        sa.column("check_id", sa.Integer()),
        sa.column("container", sa.Text()),
        sa.column("field", sa.Text()),
        sa.column("fields", sa.JSON()),
        sa.column("rule", sa.String(64)),
        sa.column("type", sa.String(16)),
        sa.column("records", sa.BigInteger()),
        sa.column("fingerprint", sa.String(64)),
        sa.column("status", sa.String(16)),
        sa.column("archived_at", UTCDateTime()),
        sa.column("tags", sa.JSON()),
        sa.column("assignee_ids", sa.JSON()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
    )
    now = datetime.now(UTC)
    for row in bind.execute(
        sa.select(
            anomalies.c.id,
            anomalies.c.operation_id,
            anomalies.c.check_id,
            anomalies.c.container,
            anomalies.c.field,
            anomalies.c.rule,
            anomalies.c.status,
            anomalies.c.created_at,
        )
    ):
        rule = _RULES.get(row.rule, row.rule)
        status = _STATUSES.get(row.status, "Active")
        bind.execute(
            anomalies.update()
            .where(anomalies.c.id == row.id)
            .values(
                last_operation_id=row.operation_id,
                fields=[row.field],
                rule=rule,
                type="record",
                records=0,
                fingerprint=fingerprint(row.check_id, row.container, [row.field], rule),
                status=status,
                archived_at=now if status == "Resolved" else None,
                tags=[],
                assignee_ids=[],
                updated_at=row.created_at or now,
            )
        )

    with op.batch_alter_table("anomalies") as batch:
        batch.drop_column("field")
        not_null_anomalies: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
            ("last_operation_id", sa.Integer()),
            ("fields", sa.JSON()),
            ("type", sa.String(16)),
            ("records", sa.BigInteger()),
            ("fingerprint", sa.String(64)),
            ("tags", sa.JSON()),
            ("assignee_ids", sa.JSON()),
            ("updated_at", UTCDateTime()),
        )
        for name, type_ in not_null_anomalies:
            batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_index(op.f("ix_anomalies_last_operation_id"), ["last_operation_id"])
        batch.create_index(op.f("ix_anomalies_fingerprint"), ["fingerprint"])
        batch.create_check_constraint(
            "status",
            "status IN ('Active', 'Acknowledged', 'Resolved', 'Invalid', 'Duplicate', 'Discarded')",
        )
        batch.create_check_constraint("type", "type IN ('record', 'shape')")


def downgrade() -> None:
    raise NotImplementedError(
        "0007_checks_contract is one-way: the old schema cannot hold multi-field checks, "
        "templates or the new anomaly statuses; restore the pre-upgrade backup instead"
    )
