"""Datastores and what operations find in them: containers, field profiles, quality checks
and anomalies.

Revision ID: 0004_datastores
Revises: 0002_connections
"""

import sqlalchemy as sa
from alembic import op

from dqplatform.controlplane.db.base import UTCDateTime

revision = "0004_datastores"
down_revision = "0002_connections"
branch_labels = None
depends_on = None


def _datastore_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["datastore_id"],
        ["datastores.id"],
        name=op.f(f"fk_{table}_datastore_id_datastores"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "datastores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("database", sa.String(255), nullable=True),
        sa.Column("schema_name", sa.String(255), nullable=True),
        sa.Column("path", sa.String(1024), nullable=True),
        sa.Column("file_format", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datastores")),
        sa.UniqueConstraint("name", name=op.f("uq_datastores_name")),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_datastores_connection_id_connections"),
        ),
        sa.CheckConstraint("kind IN ('jdbc', 'files')", name=op.f("ck_datastores_kind")),
        sa.CheckConstraint(
            "file_format IS NULL OR file_format IN ('csv', 'parquet')",
            name=op.f("ck_datastores_format"),
        ),
        sa.CheckConstraint(
            "(kind = 'jdbc' AND connection_id IS NOT NULL AND path IS NULL "
            "AND file_format IS NULL) OR (kind = 'files' AND connection_id IS NULL "
            "AND path IS NOT NULL AND file_format IS NOT NULL)",
            name=op.f("ck_datastores_kind_fields"),
        ),
    )
    op.create_index(op.f("ix_datastores_connection_id"), "datastores", ["connection_id"])

    op.create_table(
        "containers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("datastore_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=True),
        sa.Column("last_operation_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_containers")),
        _datastore_fk("containers"),
        sa.UniqueConstraint("datastore_id", "name", name=op.f("uq_containers_datastore_id")),
        sa.CheckConstraint("type IN ('table', 'view', 'file')", name=op.f("ck_containers_type")),
    )

    op.create_table(
        "field_profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("datastore_id", sa.Integer(), nullable=False),
        sa.Column("container_name", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("nulls", sa.BigInteger(), nullable=False),
        sa.Column("distinct", sa.BigInteger(), nullable=False),
        sa.Column("min", sa.Text(), nullable=True),
        sa.Column("max", sa.Text(), nullable=True),
        sa.Column("mean", sa.Double(), nullable=True),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_profiles")),
        _datastore_fk("field_profiles"),
    )
    op.create_index(op.f("ix_field_profiles_operation_id"), "field_profiles", ["operation_id"])
    op.create_index(
        "ix_field_profiles_container",
        "field_profiles",
        ["datastore_id", "container_name", "field"],
    )

    op.create_table(
        "quality_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("datastore_id", sa.Integer(), nullable=False),
        sa.Column("container", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_checks")),
        _datastore_fk("quality_checks"),
        sa.CheckConstraint(
            "rule IN ('not_null', 'unique', 'between', 'matches_pattern', 'expected_values')",
            name=op.f("ck_quality_checks_rule"),
        ),
    )
    op.create_index(op.f("ix_quality_checks_datastore_id"), "quality_checks", ["datastore_id"])

    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("datastore_id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=True),
        sa.Column("container", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("failed_records", sa.BigInteger(), nullable=False),
        sa.Column("sample_rows", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomalies")),
        _datastore_fk("anomalies"),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["quality_checks.id"],
            name=op.f("fk_anomalies_check_id_quality_checks"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "status IN ('active', 'acknowledged', 'archived')", name=op.f("ck_anomalies_status")
        ),
    )
    op.create_index(op.f("ix_anomalies_operation_id"), "anomalies", ["operation_id"])
    op.create_index(op.f("ix_anomalies_datastore_id"), "anomalies", ["datastore_id"])
    op.create_index(op.f("ix_anomalies_check_id"), "anomalies", ["check_id"])


def downgrade() -> None:
    op.drop_table("anomalies")
    op.drop_table("quality_checks")
    op.drop_table("field_profiles")
    op.drop_table("containers")
    op.drop_table("datastores")
