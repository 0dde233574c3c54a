"""invoice lifecycle: unnumbered drafts, status history, credit note numbers

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from seatwise.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.alter_column("number", existing_type=sa.String(length=40), nullable=True)
    op.create_table(
        "invoice_status_changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("invoice_id", ID, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_status_changes_invoice_id_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_status_changes")),
    )
    with op.batch_alter_table("invoice_status_changes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_status_changes_invoice_id"), ["invoice_id"], unique=False
        )
    op.bulk_insert(
        sa.table(
            "invoice_sequences",
            sa.column("prefix", sa.String),
            sa.column("next_number", sa.BigInteger),
        ),
        [{"prefix": "CN-", "next_number": 1}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM invoice_sequences WHERE prefix = 'CN-'")
    with op.batch_alter_table("invoice_status_changes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_status_changes_invoice_id"))
    op.drop_table("invoice_status_changes")
    with op.batch_alter_table("invoices") as batch_op:
        batch_op.alter_column("number", existing_type=sa.String(length=40), nullable=False)
