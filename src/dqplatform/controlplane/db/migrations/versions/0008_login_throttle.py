"""The login throttle's failed sign-ins, in the database so every controlplane shares them.

Revision ID: 0008_login_throttle
Revises: 0007_checks_contract
"""

import sqlalchemy as sa
from alembic import op

from dqplatform.controlplane.db.base import UTCDateTime

revision = "0008_login_throttle"
down_revision = "0007_checks_contract"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(69), nullable=False),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_expires_at"), "login_failures", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failures_expires_at"), table_name="login_failures")
    op.drop_table("login_failures")
