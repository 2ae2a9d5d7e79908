"""The audit log: append with a hash chain, query with filters and a cursor, verify.

Each entry's hash covers its content and the previous entry's hash, so an
edited or deleted row in the middle breaks the chain and `audit verify` says
where. With the service's key (`seal.py`) the hashes are HMACs and a signed
head record (`store.head`) and retention anchor close the two ends: see README
"The audit chain" for what that proves and what it does not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, desc, func, insert, select

from remediator.store.audit import check as chain_check
from remediator.store.audit.check import ChainReport
from remediator.store.audit.head import track_head
from remediator.store.audit.seal import GENESIS, AuditSeal, entry_hash, seal_for
from remediator.store.database import after_commit
from remediator.store.tables import audit

__all__ = ["GENESIS", "AuditQuery", "AuditRecord", "ChainReport", "append", "count",
           "entry_hash", "purge_before", "query", "verify_chain"]


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


# Built once, as in `store.jobs`: every decision and outcome runs these.
_NEWEST = select(audit.c.id, audit.c.hash, audit.c.ts).order_by(desc(audit.c.id)).limit(1)
_INSERT = insert(audit)


def append(connection: Connection, records: Sequence[AuditRecord]) -> None:
    """Append entries in order, chained to the newest existing entry.

    Must run inside `Database.writing()`: writers are serialised, so the
    newest entry read here is still the newest when the rows land. An entry
    is never older than the one before it (`ts` is monotonic in `id`, which
    retention relies on): a timestamp taken before the lock is moved up.
    """
    if not records:
        return
    seal = seal_for(connection)
    newest = connection.execute(_NEWEST).first()
    prev = newest.hash if newest is not None else GENESIS
    floor = newest.ts if newest is not None else None
    rows = []
    for record in records:
        row = record.row()
        if floor is not None and row["ts"] < floor:
            row["ts"] = floor
        floor = row["ts"]
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(prev, row, seal)
        rows.append(row)
    connection.execute(_INSERT, rows)
    if seal is not None:
        track_head(connection, seal, newest, len(rows), prev)
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
    rows = connection.execute(statement(connection, q)).all()
    items = [as_dict(row) for row in rows[: q.limit]]
    next_cursor = items[-1]["id"] if len(rows) > q.limit else None
    return items, next_cursor


def statement(connection: Connection, q: AuditQuery) -> Select[Any]:
    """The page's SELECT, shaped so an index answers it without sorting.

    Newest first is `ts DESC, id DESC`, the same order as `id DESC` because
    `ts` never decreases with `id` (`append` keeps it so). Sorted by `ts`, a
    filter's `(column, ts)` index (the row id is its last key on SQLite, and
    PostgreSQL sorts only rows that share a timestamp) yields the page in
    order and stops after `limit + 1` rows; sorted by `id` alone, the
    database reads every matching row and sorts them (1 s at 1 million rows).
    For the same reason the cursor also bounds `ts` by the cursor entry's time
    (one primary-key lookup): implied by `id < cursor`, but usable as a range.
    """
    stmt = (select(audit).order_by(desc(audit.c.ts), desc(audit.c.id))
            .limit(q.limit + 1))
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
        at = connection.execute(select(audit.c.ts).where(audit.c.id == q.cursor)).scalar()
        if at is not None:  # gone (retention) or never there: `id < cursor` alone
            stmt = stmt.where(audit.c.ts <= at)
    return stmt


def entries_for(connection: Connection, remediation_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Every entry of the given remediations, oldest first (a remediation's history)."""
    stmt = (select(audit).where(audit.c.remediation_id.in_(list(remediation_ids)))
            .order_by(audit.c.id))
    return [as_dict(row) for row in connection.execute(stmt)]


_REPORTED = (audit.c.ts, audit.c.outcome, audit.c.remediation_id, audit.c.rule, audit.c.step,
             audit.c.alertname, audit.c.fingerprint, audit.c.action, audit.c.target)


def between(connection: Connection, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The fields reports read (no labels, detail or hashes), oldest first, in
    `[since, until]` (until is usually now: an entry written this instant counts).

    The `ts` index answers the range; `ts` never decreases with `id`, so `id`
    orders it as well.
    """
    stmt = (select(*_REPORTED).where(audit.c.ts >= since, audit.c.ts <= until)
            .order_by(audit.c.id))
    return [{**row._mapping, "ts": row.ts.isoformat()} for row in connection.execute(stmt)]


def as_dict(row: Row[Any]) -> dict[str, Any]:
    data = dict(row._mapping)
    data["ts"] = data["ts"].isoformat()
    data.pop("prev_hash", None)
    return data


def verify_chain(connection: Connection, *, seal: AuditSeal | None = None,
                 batch: int = 5000) -> ChainReport:
    """Check every hash and link from the retention anchor to the head record.

    With a seal (the key): entries must carry HMACs (plain SHA-256 is accepted
    only before the first keyed entry, for logs written before keys existed),
    the oldest entry must link to the signed anchor (or genesis), and the
    signed head's entry must exist with its hash and count.
    """
    seal = seal or seal_for(connection)
    return chain_check.verify(connection, seal=seal, batch=batch)


def purge_before(connection: Connection, cutoff: datetime) -> int:
    """Retention: drop the oldest entries, those before `cutoff`, leaving an anchor.

    Deletes a prefix (by id) and never the newest entry, so the chain left is
    whole: its oldest entry links to the anchor recorded here.
    """
    return chain_check.purge_prefix(connection, cutoff, seal=seal_for(connection))


def count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(audit)).scalar_one())


log = logging.getLogger("remediator.audit")

_WARNING = frozenset({"failed", "unverified", "exhausted", "precondition_failed",
                      "breaker_open", "expired", "gitops_managed", "reverted_by_gitops"})
_INFO = frozenset({"executed", "dry_run", "succeeded", "target_gone", "verified", "unknown",
                   "awaiting_approval", "approved", "declined", "operator", "no_match",
                   "proposed"})
NO_MATCH = "no_match"


def level_of(outcome: str) -> int:
    """The level an entry's line is logged at, before `no_match` throttling."""
    if outcome in _WARNING:
        return logging.WARNING
    return logging.INFO if outcome in _INFO else logging.DEBUG


class NoMatchLines:
    """At most one INFO line per alertname per `window` for `no_match`; the rest at DEBUG.

    `no_match` answers "why did nothing happen?", so it is logged at INFO; but
    a storm of alerts no rule matches would drown the lines that matter. The
    next INFO line for an alertname says how many were logged at DEBUG since.
    `clock` is monotonic seconds (injectable: tests pass their own). Bounded:
    past `capacity` alertnames, those whose window has passed are forgotten,
    and if none has, all are (one more INFO line each, not unbounded memory).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 window: float = 60.0, capacity: int = 10_000) -> None:
        self._clock = clock
        self._window = window
        self._capacity = capacity
        self._said: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def level(self, alertname: str) -> tuple[int, int]:
        """(the level for this line, how many lines for this alertname went to DEBUG
        since its last INFO line; counted only when this one is INFO)."""
        now = self._clock()
        with self._lock:
            said = self._said.get(alertname)
            if said is not None and now - said[0] < self._window:
                self._said[alertname] = (said[0], said[1] + 1)
                return logging.DEBUG, 0
            if said is None and len(self._said) >= self._capacity:
                self._forget(now)
            self._said[alertname] = (now, 0)
            return logging.INFO, said[1] if said is not None else 0

    def _forget(self, now: float) -> None:
        self._said = {name: said for name, said in self._said.items()
                      if now - said[0] < self._window}
        if len(self._said) >= self._capacity:
            self._said.clear()


no_match_lines = NoMatchLines()
"""The process's throttle (tests replace it to drive its clock)."""


def announce(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log these entries after the transaction that writes them commits.

    One line per entry that acts, fails, or explains why nothing was done
    (`no_match`, throttled per alertname: `NoMatchLines`): the audit log is
    the record, these lines are for whoever tails the service's output (what
    it did, to what, and the remediation id to look it up with). Entries that
    repeat a decision already taken (duplicate, cooldown, rate_limited...)
    stay at debug, so a storm of repeats does not drown the lines that matter.
    """
    wanted = [row for row in rows if log.isEnabledFor(level_of(row["outcome"]))]
    if wanted:
        after_commit(connection, lambda: _emit(wanted))


def _emit(rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        level, skipped = level_of(row["outcome"]), 0
        if row["outcome"] == NO_MATCH:
            level, skipped = no_match_lines.level(str(row.get("alertname") or ""))
        if not log.isEnabledFor(level):
            continue
        context = {name: str(row[name]) for name in ("remediation_id", "fingerprint", "rule")
                   if row.get(name)}
        what = " ".join(part for part in (row["action"], row["target"]) if part)
        if not what and not row["rule"] and row.get("alertname"):
            what = str(row["alertname"]) + (f" in {row['namespace']}"
                                             if row.get("namespace") else "")
        more = f" ({skipped} more since the last such line, at debug)" if skipped else ""
        log.log(level, "%s%s%s: %s%s", row["outcome"],
                f" {row['rule']}" if row["rule"] else "", f" {what}" if what else "",
                row["reason"] or "-", more, extra={"context": context})
