"""audit anchors: what retention purged, so the oldest entry left must link to it

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from remediator.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("through_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("purged", sa.BigInteger(), nullable=False),
        sa.Column("cutoff", UTCDateTime(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("audit_anchors")
