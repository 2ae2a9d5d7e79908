"""The schema. Alembic migrations in `migrations/` create exactly these tables.

- `audit`: append-only, hash-chained log of every decision and outcome.
- `remediations`: one row per action decided (executed or dry-run); its
  unique `key` is the idempotency key that makes a remediation happen once.
- `jobs`: the work queue (actions, verifications, follow-ups), durable so a
  restart loses nothing.
- `alerts`: alerts as last seen, for `unless_firing` and reconciliation.
- `controls`: operator switches (pause, breaker state).
- `sessions`, `login_failures`: console sign-ins and their throttling.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
    true,
)

from remediator.model.validation import ALERTNAME_MAX
from remediator.store.types import UTCDateTime

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

audit = Table(
    "audit",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("remediation_id", String(36)),
    Column("rule", String(128), nullable=False, default=""),
    Column("step", Integer, nullable=False, default=0),
    Column("alertname", String(ALERTNAME_MAX), nullable=False, default=""),
    Column("fingerprint", String(64), nullable=False, default=""),
    Column("namespace", String(256), nullable=False, default=""),
    Column("action", String(64), nullable=False, default=""),
    Column("target", String(600), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("duration_ms", Float),
    Column("runbook_url", Text, nullable=False, default=""),
    Column("group_key", Text, nullable=False, default=""),
    Column("labels", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # The API's filters, each in page order (`ts, id`; see audit.statement). On
    # SQLite every index ends with the rowid, `id`, so migration 0001's
    # (column, ts) indexes are these; 0006 rebuilds them with `id` on PostgreSQL.
    Index("ix_audit_ts", "ts", "id"),
    Index("ix_audit_rule_ts", "rule", "ts", "id"),
    Index("ix_audit_alertname_ts", "alertname", "ts", "id"),
    Index("ix_audit_namespace_ts", "namespace", "ts", "id"),
    Index("ix_audit_outcome_ts", "outcome", "ts", "id"),
    Index("ix_audit_namespace_alertname_ts", "namespace", "alertname", "ts", "id"),
    Index("ix_audit_remediation", "remediation_id"),
)

audit_anchors = Table(
    "audit_anchors",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("through_id", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("purged", BigInteger, nullable=False),
    Column("cutoff", UTCDateTime(), nullable=False),
    Column("mac", String(64), nullable=False, default=""),
)
"""Retention's anchors: the last entry each purge removed, so the oldest entry left
must link to it (deleting the oldest entries by hand breaks that link)."""

audit_head = Table(
    "audit_head",
    metadata,
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("mac", String(64), nullable=False),
    CheckConstraint("slot = 1", name="audit_head_one_row"),
)
"""The chain's signed head, one row (`slot` 1): the newest entry, its hash, entries ever
appended, an HMAC over them. Rewritten with every append (`store.head`), so deleting the
newest entries leaves it naming an entry the table lost."""

remediations = Table(
    "remediations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(700), nullable=False, unique=True),
    Column("root_id", String(36), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("step", Integer, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("alertname", String(ALERTNAME_MAX), nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(600), nullable=False),
    Column("namespace", String(256), nullable=False, default=""),
    Column("dry_run", Boolean, nullable=False),
    Column("state", String(32), nullable=False),
    Column("request", JSON, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("annotations", JSON, nullable=False),
    Column("group_key", Text, nullable=False, default=""),
    Column("followups", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime()),
    Column("generator_url", Text, nullable=False, default="", server_default=""),
    Column("approval_expires", UTCDateTime()),
    Column("counts", Boolean, nullable=False, default=True, server_default=true()),
    # False for actions that never ran (cancelled by pause or the breaker) and
    # for dry-runs forced by a missing capability: they count for no guard.
    Column("failed_at", UTCDateTime()),
    # When the action failed: the breaker counts failures by this, not by
    # updated_at (which resolving an alert bumps).
    Index("ix_remediations_target_created", "target", "created_at"),
    Index("ix_remediations_rule_created", "rule", "created_at"),
    Index("ix_remediations_created", "created_at"),
    Index("ix_remediations_fingerprint", "fingerprint"),
    Index("ix_remediations_state_updated", "state", "updated_at"),
    Index("ix_remediations_approval_expires", "approval_expires"),
    Index("ix_remediations_root_step", "root_id", "step"),
    Index("ix_remediations_failed_at", "failed_at"),
    # The rate-limit and breaker counts (guard_state.actions_since): index-only ranges.
    Index("ix_remediations_rule_counted", "rule", "counts", "dry_run", "created_at"),
    Index("ix_remediations_counted", "counts", "dry_run", "created_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("remediation_id", String(36), nullable=False),
    Column("state", String(16), nullable=False),
    Column("run_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_expires", UTCDateTime()),
    Column("payload", JSON, nullable=False),
    Index("ix_jobs_state_run_at", "state", "run_at"),
    Index("ix_jobs_remediation", "remediation_id"),
)

RELATED_LABELS = ("namespace", "node", "service")
"""The labels the pre-flight relates alerts by, each copied into its own column."""

LABEL_KEY_MAX = 253
"""The longest label value a related-label column holds: a Kubernetes name's limit
(DNS subdomain). Label values come from monitored workloads (up to 16 KiB each);
a longer one is no namespace or node, and would not fit a PostgreSQL btree entry."""

FIRING_ONLY = text("status = 'firing'")
"""The related-alert indexes' predicate, which the queries repeat as a literal:
a planner can use a partial index only for a query that implies its predicate,
and a bound parameter implies nothing to PostgreSQL's generic plans."""


def label_key(value: object) -> str | None:
    """The column value for a label value: itself, or NULL when it is not a string
    of at most `LABEL_KEY_MAX` characters (so no label can make the insert fail)."""
    return value if isinstance(value, str) and len(value) <= LABEL_KEY_MAX else None


def related_columns(labels: Mapping[str, object]) -> dict[str, str | None]:
    """The denormalised label columns of an `alerts` row: every writer sets them."""
    return {name: label_key(labels.get(name)) for name in RELATED_LABELS}


RELATED_INDEXES = {
    "ix_alerts_firing_namespace": ("namespace", "status = 'firing'"),
    "ix_alerts_firing_node": ("node", "status = 'firing' AND node IS NOT NULL"),
    "ix_alerts_firing_service": ("service", "status = 'firing' AND service IS NOT NULL"),
}
"""`(column, starts_at, fingerprint)` over firing rows, by name: a relation's first
rows in the pre-flight's order, read from the index and stopped at the limit.

Partial on both backends (migration 0008 creates them with these predicates; a
test compares). The predicate is kept in the index's `info`, not as
`sqlite_where`/`postgresql_where`: SQLAlchemy imports a dialect to check its
keyword arguments, and the PostgreSQL dialect costs a SQLite service ~60 ms of
every start (issue 11; tests/edge/test_startup.py)."""


def _related_index(name: str) -> Index:
    column, where = RELATED_INDEXES[name]
    return Index(name, column, "starts_at", "fingerprint", info={"where": where})


alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("alertname", String(ALERTNAME_MAX), nullable=False),
    Column("status", String(16), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("starts_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Copies of `labels`' namespace, node and service (`related_columns`), for the
    # pre-flight's indexed reads of related firing alerts (migration 0008).
    Column("namespace", String(LABEL_KEY_MAX)),
    Column("node", String(LABEL_KEY_MAX)),
    Column("service", String(LABEL_KEY_MAX)),
    Index("ix_alerts_status", "status"),
    Index("ix_alerts_alertname_status", "alertname", "status"),
    *(_related_index(name) for name in RELATED_INDEXES),
)

controls = Table(
    "controls",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("flag", Boolean, nullable=False, default=False),
    Column("at", UTCDateTime()),
    Column("reason", Text, nullable=False, default=""),
)

# Evidence gathered just before an action (phase "before") and when it failed
# ("failure"), with the diagnosis hints drawn from it (migration 0005).
evidence = Table(
    "evidence",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("remediation_id", String(36), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("gathered_at", UTCDateTime(), nullable=False),
    Column("document", JSON, nullable=False),
    Column("hints", JSON, nullable=False),
    Index("ix_evidence_remediation", "remediation_id"),
)

# Console sessions (migration 0011): the cookie carries a random id, the table only
# its SHA-256, so reading the database never yields a usable cookie. Every replica
# reads the same rows: a session works on all of them and a revocation ends it on all.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("actor", String(200), nullable=False),
    Column("can_act", Boolean, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_by", String(200), nullable=False, default=""),
    Column("client", String(128), nullable=False, default=""),
    Column("user_agent", String(256), nullable=False, default=""),
    Index("ix_sessions_expires", "expires_at"),
)

# Failed sign-ins within the throttling window (migration 0011), shared by the
# replicas so that they agree on who is throttled; older rows are deleted as new
# ones come.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("client", String(128), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_login_failures_client_at", "client", "at"),
    Index("ix_login_failures_at", "at"),
)

# Approval requests posted to chat, so a later answer updates them (migration 0012chat).
chat_messages = Table(
    "chat_messages",
    metadata,
    Column("remediation_id", String(36), primary_key=True),
    Column("integration", String(16), primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("posted_at", UTCDateTime(), nullable=False),
    Index("ix_chat_messages_posted_at", "posted_at"),
)
