"""Checks: each check's result in each scan, the history volumetric and metric checks
compare with.

Revision ID: 0009_check_results
Revises: 0008_login_throttle
"""

import sqlalchemy as sa
from alembic import op

from dqplatform.controlplane.db.base import UTCDateTime

revision = "0009_check_results"
down_revision = "0008_login_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("failed_records", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_results")),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["quality_checks.id"],
            name=op.f("fk_check_results_check_id_quality_checks"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "check_id", "operation_id", name=op.f("uq_check_results_check_operation")
        ),
    )
    op.create_index(op.f("ix_check_results_check_id"), "check_results", ["check_id"])
    op.create_index(op.f("ix_check_results_operation_id"), "check_results", ["operation_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_check_results_operation_id"), table_name="check_results")
    op.drop_index(op.f("ix_check_results_check_id"), table_name="check_results")
    op.drop_table("check_results")
