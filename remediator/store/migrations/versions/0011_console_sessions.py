"""console sessions in the database, and failed sign-ins for throttling

Revision ID: 0011
Revises: 0010

Sessions were signed cookies with nothing server-side: logout could not
revoke one, and replicas with different keys refused each other's (issues 20
item 7, 21 item 2). `sessions` holds one row per sign-in, keyed by the SHA-256
of the random id the cookie carries. `login_failures` holds the failed
sign-ins of the throttling window, so every replica counts the same ones
(issue 21 item 3). Two new tables: nothing existing changes.
"""

import sqlalchemy as sa
from alembic import op

from remediator.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("can_act", sa.Boolean(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=False),
        sa.Column("client", sa.String(length=128), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_sessions_expires", "sessions", ["expires_at"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("client", sa.String(length=128), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failures_client_at", "login_failures", ["client", "at"],
                    unique=False)
    op.create_index("ix_login_failures_at", "login_failures", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_failures_at", table_name="login_failures")
    op.drop_index("ix_login_failures_client_at", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_sessions_expires", table_name="sessions")
    op.drop_table("sessions")
