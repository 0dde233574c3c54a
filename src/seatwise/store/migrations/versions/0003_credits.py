"""credits: credit events on the timeline, and the wallet's ledger

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from seatwise.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.add_column(sa.Column("content", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("credits", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ref_at", UTCDateTime(), nullable=True))
    op.create_table(
        "credit_entries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("balance_change", sa.Integer(), nullable=False),
        sa.Column("assigned_change", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=200), nullable=True),
        sa.Column("content", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_credit_entries_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
        sa.UniqueConstraint("account_id", "position", name=op.f("uq_credit_entries_account_id")),
    )


def downgrade() -> None:
    op.drop_table("credit_entries")
    with op.batch_alter_table("timeline_events") as batch_op:
        batch_op.drop_column("ref_at")
        batch_op.drop_column("credits")
        batch_op.drop_column("content")
