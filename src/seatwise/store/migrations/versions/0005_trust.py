"""trust under real use: an account's billing error, the instant from which it is told of
facts (imported history is not mailed), and how a credits purchase is paid

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from seatwise.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("billing_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("billing_error_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("notify_from", UTCDateTime(), nullable=True))
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.add_column(sa.Column("collection", sa.String(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.drop_column("collection")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("notify_from")
        batch_op.drop_column("billing_error_at")
        batch_op.drop_column("billing_error")
