"""guard counting: failures at the time they happened, cancelled and
capability dry-runs that do not count

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

from remediator.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counts", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column("failed_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_remediations_failed_at", ["failed_at"], unique=False)
    remediations = sa.table("remediations", sa.column("state", sa.String),
                            sa.column("counts", sa.Boolean),
                            sa.column("failed_at", UTCDateTime()),
                            sa.column("updated_at", UTCDateTime()))
    # Best effort for old rows: a failure's time was only kept as updated_at.
    op.execute(remediations.update().where(remediations.c.state == "failed")
               .values(failed_at=remediations.c.updated_at))
    op.execute(remediations.update()
               .where(remediations.c.state.in_(["paused", "breaker_open"]))
               .values(counts=False))


def downgrade() -> None:
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.drop_index("ix_remediations_failed_at")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("counts")
