"""alerts: namespace, node and service columns, indexed for the pre-flight

Revision ID: 0008
Revises: 0007

Before each Kubernetes action the pre-flight reads the firing alerts related
to its target (same node, same namespace, node alerts on that node, alerts of
depended-on services). It filtered by JSON label lookups that no index
serves, so the database read every firing row, extracted its labels, sorted
and kept 50: in a cluster-wide storm (thousands firing in one namespace)
every action scanned them all, the largest single database cost of the
action drain (11 % of the service's CPU at 1,000 queued actions, growing with
the backlog). The labels are copied into columns, and a partial index per
column over firing rows, in the pre-flight's order, lets each relation read
its first rows and stop.

A label value longer than 253 characters (no Kubernetes namespace or node
name is) is stored as NULL: values come from monitored workloads, and one
must not fail an insert (PostgreSQL's btree entries are bounded).

The backfill reads `labels` through SQLAlchemy in batches, the same on both
backends, and applies the same rule as the writers (`tables.related_columns`,
repeated here: a migration must not change when the code does). Plain DDL in
Alembic's transaction under the migration lock; on PostgreSQL the index builds
block writes to `alerts` for a moment (it holds alerts as last seen: thousands
of rows, not millions).
"""

from collections.abc import Mapping

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LABELS = ("namespace", "node", "service")
LONGEST = 253
BATCH = 1000
# index name: (its column, whether the predicate also says the column is set)
INDEXES = {"ix_alerts_firing_namespace": ("namespace", False),
           "ix_alerts_firing_node": ("node", True),
           "ix_alerts_firing_service": ("service", True)}

_alerts = sa.table("alerts", sa.column("fingerprint", sa.String()),
                   sa.column("labels", sa.JSON()),
                   *(sa.column(name, sa.String()) for name in LABELS))


def _columns(labels: Mapping[str, object]) -> dict[str, str | None]:
    values = {name: labels.get(name) for name in LABELS}
    return {f"new_{name}": value if isinstance(value, str) and len(value) <= LONGEST else None
            for name, value in values.items()}


def _backfill() -> None:
    """Every existing row's columns from its labels, a batch at a time by fingerprint."""
    connection = op.get_bind()
    update = (sa.update(_alerts).where(_alerts.c.fingerprint == sa.bindparam("key"))
              .values({name: sa.bindparam(f"new_{name}") for name in LABELS}))
    after = ""
    while True:
        rows = connection.execute(
            sa.select(_alerts.c.fingerprint, _alerts.c.labels)
            .where(_alerts.c.fingerprint > after)
            .order_by(_alerts.c.fingerprint).limit(BATCH)).all()
        if not rows:
            return
        changes = []
        for row in rows:
            values = _columns(row.labels or {})
            if any(value is not None for value in values.values()):
                changes.append({"key": row.fingerprint, **values})
        if changes:
            connection.execute(update, changes)
        after = rows[-1].fingerprint


def upgrade() -> None:
    for name in LABELS:
        op.add_column("alerts", sa.Column(name, sa.String(LONGEST), nullable=True))
    _backfill()
    for index, (column, not_null) in INDEXES.items():
        where = sa.text(f"status = 'firing' AND {column} IS NOT NULL" if not_null
                        else "status = 'firing'")
        op.create_index(index, "alerts", [column, "starts_at", "fingerprint"], unique=False,
                        sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for index in INDEXES:
        op.drop_index(index, table_name="alerts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        for name in LABELS:
            batch_op.drop_column(name)
