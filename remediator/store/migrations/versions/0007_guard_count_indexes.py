"""remediations: covering indexes for the rate-limit and breaker counts

Revision ID: 0007
Revises: 0006

Every decision counts the remediations of its rule (and of all rules) created
within the rate window that count (`counts`) and are not dry-runs. With only
`(rule, created_at)` each row of the window was read from the table to test
`counts` and `dry_run`; dry-runs forced by a missing capability count for
nothing but are never rate-limited either, so in a long storm the window held
tens of thousands of them and the count became most of the webhook's time
(a 10-minute soak fell from 2,400 to 720 alerts/s). With `counts` and
`dry_run` ahead of `created_at` the count reads only the index range of the
rows that count.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = {"ix_remediations_rule_counted": ["rule", "counts", "dry_run", "created_at"],
           "ix_remediations_counted": ["counts", "dry_run", "created_at"]}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "remediations", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="remediations")
