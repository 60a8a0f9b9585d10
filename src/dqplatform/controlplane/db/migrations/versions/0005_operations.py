"""Operations: requested data operations and their lifecycle.

Revision ID: 0005_operations
Revises: 0004_datastores
"""

import sqlalchemy as sa
from alembic import op

from dqplatform.controlplane.db.base import UTCDateTime

revision = "0005_operations"
down_revision = "0004_datastores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("datastore_id", sa.Integer(), nullable=False),
        sa.Column("container_names", sa.JSON(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("boot_id", sa.String(36), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("abort_requested", sa.Boolean(), nullable=False),
        sa.Column("start_time", UTCDateTime(), nullable=True),
        sa.Column("end_time", UTCDateTime(), nullable=True),
        sa.Column("total_containers", sa.Integer(), nullable=True),
        sa.Column("containers_analyzed", sa.Integer(), nullable=False),
        sa.Column("records_processed", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["datastore_id"],
            ["datastores.id"],
            name=op.f("fk_operations_datastore_id_datastores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
    )
    op.create_index(op.f("ix_operations_datastore_id"), "operations", ["datastore_id"])
    op.create_index(op.f("ix_operations_result"), "operations", ["result"])
    op.create_index(op.f("ix_operations_created_at"), "operations", ["created_at"])


def downgrade() -> None:
    op.drop_table("operations")
