"""chat messages of approval requests, so a later decision can update them

Revision ID: 0012chat
Revises: 0011

An approval request posted to Slack or Mattermost is updated in place when
it is answered or expires, wherever that happened (console, CLI, the other
chat) and whichever replica sees it: `chat_messages` keeps, per remediation
and integration, the channel and the message's reference (Slack's `ts`,
Mattermost's post id). One new table: nothing existing changes.
"""

import sqlalchemy as sa
from alembic import op

from remediator.store.types import UTCDateTime

revision = "0012chat"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_messages",
        sa.Column("remediation_id", sa.String(length=36), nullable=False),
        sa.Column("integration", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("remediation_id", "integration"),
    )
    op.create_index("ix_chat_messages_posted_at", "chat_messages", ["posted_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_messages_posted_at", table_name="chat_messages")
    op.drop_table("chat_messages")
