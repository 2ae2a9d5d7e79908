"""The audit log: append with a hash chain, query with filters and a cursor, verify.

Each entry's hash covers its content and the previous entry's hash, so an
edited or deleted row in the middle breaks the chain and `audit verify` says
where. Retention deletes from the oldest end, which keeps the rest checkable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, desc, func, insert, select

from remediator.store.announce import announce
from remediator.store.tables import audit

GENESIS = "0" * 64


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One entry to append. Every field an on-call reader needs, nothing secret."""

    ts: datetime
    outcome: str
    remediation_id: str | None = None
    rule: str = ""
    step: int = 0
    alertname: str = ""
    fingerprint: str = ""
    namespace: str = ""
    action: str = ""
    target: str = ""
    reason: str = ""
    duration_ms: float | None = None
    runbook_url: str = ""
    group_key: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "ts": self.ts, "outcome": self.outcome, "remediation_id": self.remediation_id,
            "rule": self.rule, "step": self.step, "alertname": self.alertname,
            "fingerprint": self.fingerprint, "namespace": self.namespace,
            "action": self.action, "target": self.target, "reason": self.reason,
            "duration_ms": self.duration_ms, "runbook_url": self.runbook_url,
            "group_key": self.group_key, "labels": dict(self.labels),
            "detail": dict(self.detail),
        }


_HASHED = ("ts", "outcome", "remediation_id", "rule", "step", "alertname", "fingerprint",
           "namespace", "action", "target", "reason", "duration_ms", "runbook_url",
           "group_key", "labels", "detail")


def entry_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    content = {name: row[name] for name in _HASHED}
    content["ts"] = row["ts"].isoformat(timespec="microseconds")
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(prev_hash.encode() + canonical.encode()).hexdigest()


def append(connection: Connection, records: Sequence[AuditRecord]) -> None:
    """Append entries in order, chained to the newest existing entry.

    Must run inside `Database.writing()`: writers are serialised, so the
    newest hash read here is still the newest when the rows land.
    """
    if not records:
        return
    prev = connection.execute(
        select(audit.c.hash).order_by(desc(audit.c.id)).limit(1)).scalar() or GENESIS
    rows = []
    for record in records:
        row = record.row()
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(prev, row)
        rows.append(row)
    connection.execute(insert(audit), rows)
    announce(connection, rows)


@dataclass(frozen=True, kw_only=True)
class AuditQuery:
    rule: str | None = None
    alertname: str | None = None
    namespace: str | None = None
    outcome: str | None = None
    remediation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    cursor: int | None = None


def query(connection: Connection, q: AuditQuery) -> tuple[list[dict[str, Any]], int | None]:
    """Entries newest first, and the cursor for the next (older) page, if any."""
    stmt = select(audit).order_by(desc(audit.c.id)).limit(q.limit + 1)
    for column, value in (("rule", q.rule), ("alertname", q.alertname),
                          ("namespace", q.namespace), ("outcome", q.outcome),
                          ("remediation_id", q.remediation_id)):
        if value is not None:
            stmt = stmt.where(audit.c[column] == value)
    if q.since is not None:
        stmt = stmt.where(audit.c.ts >= q.since)
    if q.until is not None:
        stmt = stmt.where(audit.c.ts < q.until)
    if q.cursor is not None:
        stmt = stmt.where(audit.c.id < q.cursor)
    rows = connection.execute(stmt).all()
    items = [as_dict(row) for row in rows[: q.limit]]
    next_cursor = items[-1]["id"] if len(rows) > q.limit else None
    return items, next_cursor


def entries_for(connection: Connection, remediation_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Every entry of the given remediations, oldest first (a remediation's history)."""
    stmt = (select(audit).where(audit.c.remediation_id.in_(list(remediation_ids)))
            .order_by(audit.c.id))
    return [as_dict(row) for row in connection.execute(stmt)]


def as_dict(row: Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    data["ts"] = data["ts"].isoformat()
    data.pop("prev_hash", None)
    return data


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(connection: Connection, *, batch: int = 5000) -> ChainReport:
    """Recompute every hash and link, oldest first; report the first broken entry."""
    checked, last_id, prev = 0, 0, None
    while True:
        rows = connection.execute(
            select(audit).where(audit.c.id > last_id).order_by(audit.c.id).limit(batch)).all()
        if not rows:
            return ChainReport(checked, None)
        for row in rows:
            data = dict(row._mapping)
            if prev is not None and data["prev_hash"] != prev:
                return ChainReport(checked, data["id"], "link to the previous entry is broken"
                                   " (an entry was deleted or reordered)")
            if entry_hash(data["prev_hash"], data) != data["hash"]:
                return ChainReport(checked, data["id"], "content does not match its hash"
                                   " (the entry was modified)")
            prev, last_id, checked = data["hash"], data["id"], checked + 1


def purge_before(connection: Connection, cutoff: datetime) -> int:
    """Retention: drop entries older than `cutoff` (the chain stays verifiable)."""
    result = connection.execute(delete(audit).where(audit.c.ts < cutoff))
    return int(result.rowcount or 0)


def count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(audit)).scalar_one())
