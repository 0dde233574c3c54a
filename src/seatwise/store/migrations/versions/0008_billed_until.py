"""how far each account has been billed: the latest `until` of a billing run over it

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
    # Accounts billed before: at least as far as their latest issued invoice.
    op.execute(
        "UPDATE accounts SET billed_until = (SELECT max(issued_at) FROM invoices "
        "WHERE invoices.account_id = accounts.id AND invoices.status <> 'draft')"
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("billed_until")
