"""timeline_events: drop the index on account_id alone; the indexes on (account_id, seq) and
(account_id, member_id) both begin with it, and every event recorded paid for a third one

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_timeline_events_account_id", table_name="timeline_events")


def downgrade() -> None:
    op.create_index("ix_timeline_events_account_id", "timeline_events", ["account_id"])
