"""how far each account has been billed (the latest `until` of a billing run over it), and
the next instant anything is due for it (NULL: unknown, bill it at the next run)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from seatwise.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("billed_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("next_due_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_accounts_next_due_at", ["next_due_at"])
    # Accounts billed before: at least as far as their latest issued invoice.
    op.execute(
        "UPDATE accounts SET billed_until = (SELECT max(issued_at) FROM invoices "
        "WHERE invoices.account_id = accounts.id AND invoices.status <> 'draft')"
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_next_due_at")
        batch.drop_column("next_due_at")
        batch.drop_column("billed_until")
