"""where each account's billing walk stood after its latest billing run (a checkpoint the
next run goes on from: seatwise.core.checkpoint); a cache of the timeline, never its source

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from seatwise.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_checkpoints",
        sa.Column(
            "account_id",
            sa.String(100),
            sa.ForeignKey("accounts.id", name="fk_billing_checkpoints_account_id_accounts"),
            primary_key=True,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_billing_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("billing_checkpoints")
