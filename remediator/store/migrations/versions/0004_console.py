"""console: generatorURL and approval deadline on remediations

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from remediator.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generator_url", sa.Text(), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("approval_expires", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_remediations_approval_expires", ["approval_expires"],
                              unique=False)
        batch_op.create_index("ix_remediations_root_step", ["root_id", "step"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.drop_index("ix_remediations_root_step")
        batch_op.drop_index("ix_remediations_approval_expires")
        batch_op.drop_column("approval_expires")
        batch_op.drop_column("generator_url")
