"""audit_head: the audit chain's signed head, in the database every replica shares

Revision ID: 0010
Revises: 0008

The head (newest entry id, its hash, entries ever appended, an HMAC over the
three with the audit key) was a file beside each process: with PostgreSQL
each replica had its own, in an emptyDir, so it neither survived a pod's
restart nor covered the other replica's entries. One row, rewritten in the
same transaction as every append (`store.head`), under the writers' lock.

Empty after the upgrade: the key is not the migration's to read. The first
write adopts a file checkpoint that still matches the table exactly (SQLite
on its volume); otherwise, with keyed entries present, the writer stalls and
`audit verify` fails until an operator runs `remediator audit reanchor`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.CheckConstraint("slot = 1", name="audit_head_one_row"),
        sa.PrimaryKeyConstraint("slot"),
    )


def downgrade() -> None:
    op.drop_table("audit_head")
