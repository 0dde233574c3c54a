"""The schema. Money columns are ``BigInteger`` minor units; instants are :class:`UTCDateTime`.

The unique key ``(account_id, kind, period_start, period_end)`` on ``invoices`` is what makes an
invoice issued exactly once per account, kind and period (SPEC 11), whatever runs at once.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from seatwise.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

plans = Table(
    "plans",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("definition", Text, nullable=False),  # the plan's fields as JSON, before presets
    Column("created_at", UTCDateTime, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("plan_id", String(100), ForeignKey("plans.id"), nullable=False),
    Column("subscribed_at", UTCDateTime, nullable=False),
    Column("start_at", UTCDateTime),
    Column("committed_seats", Integer, nullable=False, default=0),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("payment_method", String(64), nullable=False, default="succeeds"),
    Column("status", String(20), nullable=False, default="active"),
    Column("credit_balance", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),  # subscription ended (cancelled, suspended, deleted)
    Column("purged_at", UTCDateTime),  # personal data removed (SPEC 2.2: 120 days after)
    Column("billing_error", Text),  # why the last billing run could not bill it (None: fine)
    Column("billing_error_at", UTCDateTime),
    Column("notify_from", UTCDateTime),  # facts before this are not told (imported history)
    Column("billing_name", String(200)),  # the billing address, printed on invoices
    Column("billing_address", Text),  # JSON list of lines
    Column("billing_country", String(2)),  # ISO 3166-1 alpha-2
    Column("billing_tax_id", String(64)),
    Column("billed_until", UTCDateTime),  # the latest `until` a billing run billed it up to
    # The next instant anything is due for it; NULL: unknown (news since), bill it next run.
    Column("next_due_at", UTCDateTime),
    Index("ix_accounts_next_due_at", "next_due_at"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("account_id", String(100), ForeignKey("accounts.id"), primary_key=True),
    Column("email", String(320), primary_key=True),
)

members = Table(
    "members",
    metadata,
    Column("account_id", String(100), ForeignKey("accounts.id"), primary_key=True),
    Column("member_id", String(200), primary_key=True),
    Column("manage_billing", Boolean, nullable=False, default=False),
    Column("email", String(320)),
)

timeline_events = Table(
    "timeline_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    # indexed by the two indexes below, which begin with it
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(20), nullable=False),  # invite … delete, cancel, credit actions
    Column("member_id", String(200)),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("content", String(200)),  # assign, start, unassign: the premium content
    Column("credits", Integer),  # buy_credits, assign: how many credits
    Column("ref_at", UTCDateTime),  # credits_paid: the instant of the purchase paid
    Column("collection", String(30)),  # buy_credits: send_invoice, or None for a checkout
    UniqueConstraint("account_id", "seq"),
    Index("ix_timeline_events_account_member", "account_id", "member_id"),  # one's history
)

# Where an account's billing walk stood after its latest billing run (seatwise.core.checkpoint):
# a cache the next run goes on from when it is still current; never the source of anything.
billing_checkpoints = Table(
    "billing_checkpoints",
    metadata,
    Column("account_id", String(100), ForeignKey("accounts.id"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),  # the instant the walk had reached
    Column("events", Integer, nullable=False),  # timeline events dated at or before it
    Column("last_seq", Integer, nullable=False),  # the last event recorded when it was taken
    Column("fingerprint", String(64), nullable=False),  # rules, plan and account terms
    Column("state", Text, nullable=False),  # JSON
    Column("saved_at", UTCDateTime, nullable=False),
)

credit_entries = Table(
    "credit_entries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False),
    Column("position", Integer, nullable=False),  # 1, 2, … per account: the ledger's order
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),  # purchase reservation release spend overage
    Column("credits", Integer, nullable=False),
    Column("balance_change", Integer, nullable=False),
    Column("assigned_change", Integer, nullable=False),
    Column("member_id", String(200)),
    Column("content", String(200)),
    Column("note", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("account_id", "position"),
)

invoice_sequences = Table(
    "invoice_sequences",
    metadata,
    Column("prefix", String(20), primary_key=True),
    Column("next_number", BigInteger, nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False),
    Column("number", String(40), unique=True),  # None while a draft (numbered on finalizing)
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("total", BigInteger, nullable=False),
    UniqueConstraint(
        "account_id", "kind", "period_start", "period_end", name="uq_invoices_account_kind_period"
    ),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column(
        "invoice_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("invoices.id"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigInteger),
    Column("amount", BigInteger, nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("explanation", Text, nullable=False),  # JSON: summary, members, changes
    Column("corrects", String(40)),  # adjustment lines: the invoice number corrected
)

credit_notes = Table(
    "credit_notes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("number", String(40), nullable=False, unique=True),
    Column(
        "invoice_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("invoices.id"),
        nullable=False,
    ),
    Column("amount", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
)

invoice_status_changes = Table(
    "invoice_status_changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "invoice_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("invoices.id"),
        nullable=False,
        index=True,
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("from_status", String(20)),  # None when the invoice was created
    Column("to_status", String(20), nullable=False),
    Column("reason", Text, nullable=False),
)


# -- getting paid (SPEC 8) ------------------------------------------------------------------------

payment_methods = Table(
    "payment_methods",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),  # in force from this instant
    Column("method", String(200), nullable=False),  # the gateway's token
    Column("recorded_at", UTCDateTime, nullable=False),
)

payment_attempts = Table(
    "payment_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("invoice_number", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),  # 1, 2, … per invoice
    Column("at", UTCDateTime, nullable=False),  # when it was due (a run may perform it later)
    Column("method", String(200), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("reference", String(200), nullable=False),  # the gateway's payment id
    Column("receipt", String(40), unique=True),  # RCT-… for a payment that succeeded
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("invoice_number", "attempt"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("invoice_number", String(40), primary_key=True),
    Column("days_before", Integer, primary_key=True),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", String(100), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),  # the instant of the fact told
    Column("kind", String(40), nullable=False),  # invoice_issued, reminder, …
    Column("channel", String(10), nullable=False),  # email | webhook
    Column("recipients", Text, nullable=False),  # JSON list: addresses, or the endpoint's URL
    Column("invoice_number", String(40)),
    Column("payload", Text, nullable=False),  # JSON: the email's values / the webhook's body
    Column("status", String(12), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    Column("locked_until", UTCDateTime),  # a worker's lease while it delivers
    Column("delivered_at", UTCDateTime),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "outbox_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("outbox.id"),
        nullable=False,
        index=True,
    ),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("detail", Text, nullable=False),  # HTTP status, SMTP answer, or the error
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("url", Text, nullable=False),
    Column("secret", String(200), nullable=False),  # whsec_… (Standard Webhooks)
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

purges = Table(
    "purges",
    metadata,
    Column("account_id", String(100), ForeignKey("accounts.id"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),  # when the retention period ended
    Column("ended_at", UTCDateTime, nullable=False),
    Column("removed", Text, nullable=False),  # what was removed, in words
    Column("recorded_at", UTCDateTime, nullable=False),
)


# -- the REST API ----------------------------------------------------------------------------------

api_keys = Table(
    "api_keys",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("name", String(100), nullable=False),
    Column("scope", String(10), nullable=False),  # read | write | admin
    Column("prefix", String(20), nullable=False),  # sw_live_ and the first characters, to show
    Column("secret_hash", String(64), nullable=False, unique=True),  # SHA-256 of the secret
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

account_sessions = Table(
    "account_sessions",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False),
    Column("member_id", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),  # logged out
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(120), primary_key=True),  # key:ID or session:ID
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", String(10), nullable=False),  # in_flight | done
    Column("response_status", Integer),
    Column("response_body", Text),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("locked_until", UTCDateTime),  # an in-flight claim expires (a crashed request)
)

event_ids = Table(
    "event_ids",
    metadata,
    Column("account_id", String(100), ForeignKey("accounts.id"), primary_key=True),
    Column("external_id", String(255), primary_key=True),  # the vendor's id of the event
    Column("result", Text, nullable=False),  # JSON: what the first request was answered
    Column("created_at", UTCDateTime, nullable=False),
)


# -- the billing page --------------------------------------------------------------------------

billing_links = Table(
    "billing_links",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False),
    Column("member_id", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),  # a link opens one session, once
)

billing_changes = Table(
    "billing_changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", String(100), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(200), nullable=False),  # who: key:ID, session:ID, cli, page:MEMBER
    Column("field", String(40), nullable=False),  # contacts | billing_address | payment_method
    Column("old", Text),  # JSON, None when there was none
    Column("new", Text),  # JSON, None when it was removed
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),  # secret_key: signs cookies and forms
    Column("value", Text, nullable=False),
)
