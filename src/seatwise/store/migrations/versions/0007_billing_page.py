"""the billing page: one-time links, the server's secret, sessions that end on logout, the
history of billing details

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from seatwise.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "billing_links",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("member_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_billing_links_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_billing_links_token_hash")),
    )
    op.create_table(
        "billing_changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_billing_changes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_changes")),
    )
    op.create_index(
        op.f("ix_billing_changes_account_id"), "billing_changes", ["account_id"], unique=False
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    with op.batch_alter_table("account_sessions") as batch_op:
        batch_op.add_column(sa.Column("ended_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_sessions") as batch_op:
        batch_op.drop_column("ended_at")
    op.drop_table("settings")
    op.drop_index(op.f("ix_billing_changes_account_id"), table_name="billing_changes")
    op.drop_table("billing_changes")
    op.drop_table("billing_links")
