"""audit: indexes that return an API page in order, without a sort

Revision ID: 0006
Revises: 0005

The audit API pages newest first by `(ts, id)` (see `store.audit.statement`),
so a filter's `(column, ts)` index yields the page in order and the query
stops after it, instead of sorting every matching entry (1 s at a million
entries). On SQLite every index already ends with the row id, which is `id`;
on PostgreSQL it does not, and the planner sorted each range it read (fine
at a thousand rows, not at millions), so there the indexes are rebuilt with
`id` last.

Filtering by namespace and alertname together walked the namespace's
entries until enough had the alertname: all of them when the pair is rare.
`ix_audit_namespace_alertname_ts` holds exactly the pair's entries.

Plain CREATE INDEX inside Alembic's transaction, under the migration
advisory lock (replicas starting together take turns; the others find the
schema current). On PostgreSQL it blocks writes to `audit` while it builds:
seconds per million entries, once.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

REBUILT = {"ix_audit_ts": ["ts"], "ix_audit_rule_ts": ["rule", "ts"],
           "ix_audit_alertname_ts": ["alertname", "ts"],
           "ix_audit_namespace_ts": ["namespace", "ts"],
           "ix_audit_outcome_ts": ["outcome", "ts"]}
PAIR = ("ix_audit_namespace_alertname_ts", ["namespace", "alertname", "ts"])


def _on_postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    name, columns = PAIR
    if _on_postgresql():
        for index, keys in REBUILT.items():
            op.drop_index(index, table_name="audit")
            op.create_index(index, "audit", [*keys, "id"], unique=False)
        columns = [*columns, "id"]
    op.create_index(name, "audit", columns, unique=False)


def downgrade() -> None:
    op.drop_index(PAIR[0], table_name="audit")
    if _on_postgresql():
        for index, keys in REBUILT.items():
            op.drop_index(index, table_name="audit")
            op.create_index(index, "audit", keys, unique=False)
