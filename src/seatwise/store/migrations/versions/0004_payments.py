"""payments: payment methods, charge attempts, reminders, outbox, deliveries, webhook
endpoints, purges; accounts remember when they ended and were purged

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from seatwise.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id"], ["accounts.id"], name=op.f(f"fk_{table}_account_id_accounts")
    )


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("ended_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("purged_at", UTCDateTime(), nullable=True))
    op.create_table(
        "payment_methods",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        _account_fk("payment_methods"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
    )
    op.create_index(
        op.f("ix_payment_methods_account_id"), "payment_methods", ["account_id"], unique=False
    )
    op.create_table(
        "payment_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("receipt", sa.String(length=40), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        _account_fk("payment_attempts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint(
            "invoice_number", "attempt", name=op.f("uq_payment_attempts_invoice_number")
        ),
        sa.UniqueConstraint("receipt", name=op.f("uq_payment_attempts_receipt")),
    )
    op.create_index(
        op.f("ix_payment_attempts_account_id"), "payment_attempts", ["account_id"], unique=False
    )
    op.create_table(
        "reminders",
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _account_fk("reminders"),
        sa.PrimaryKeyConstraint("invoice_number", "days_before", name=op.f("pk_reminders")),
    )
    op.create_index(op.f("ix_reminders_account_id"), "reminders", ["account_id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_account_id"), "outbox", ["account_id"], unique=False)
    op.create_index(op.f("ix_outbox_next_attempt_at"), "outbox", ["next_attempt_at"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("outbox_id", ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_deliveries_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_outbox_id"), "deliveries", ["outbox_id"], unique=False)
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "purges",
        sa.Column("account_id", sa.String(length=100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        _account_fk("purges"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_purges")),
    )
    op.bulk_insert(
        sa.table(
            "invoice_sequences",
            sa.column("prefix", sa.String),
            sa.column("next_number", sa.BigInteger),
        ),
        [{"prefix": "RCT-", "next_number": 1}],
    )
    # every account's payment method so far, in force from its subscription
    op.execute(
        "INSERT INTO payment_methods (account_id, at, method, recorded_at) "
        "SELECT id, subscribed_at, payment_method, created_at FROM accounts"
    )


def downgrade() -> None:
    op.execute("DELETE FROM invoice_sequences WHERE prefix = 'RCT-'")
    for table in (
        "purges",
        "webhook_endpoints",
        "deliveries",
        "outbox",
        "reminders",
        "payment_attempts",
        "payment_methods",
    ):
        op.drop_table(table)
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("purged_at")
        batch_op.drop_column("ended_at")
