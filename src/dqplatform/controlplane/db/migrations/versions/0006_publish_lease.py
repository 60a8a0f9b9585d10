"""Operations: the lease a controlplane process holds while it sends a run request.

Revision ID: 0006_publish_lease
Revises: 0005_operations
"""

import sqlalchemy as sa
from alembic import op

from dqplatform.controlplane.db.base import UTCDateTime

revision = "0006_publish_lease"
down_revision = "0005_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.add_column(sa.Column("publish_lease_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("publish_lease_until")
