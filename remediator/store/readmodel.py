"""The faces' reads: what the console, the API and the CLI show about remediations.

`ReadModel` is their one way in: each named read opens its own read
transaction and returns a documented shape (`store.views`), never a row or
a connection. It is built once, by the composition root (`Services.reads`)
and by the CLI's store helper (`cli.store.read_model`). A remediation is
addressed by its id or by any unique prefix of at least six characters
(the page shows eight).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, and_, desc, func, or_, select

from remediator.model.outcomes import DECISIONS, Outcome
from remediator.store import evidence as evidence_store
from remediator.store import remediations
from remediator.store.audit import log as audit
from remediator.store.audit.reads import AuditReads
from remediator.store.database import Database
from remediator.store.remediations import Remediation
from remediator.store.tables import audit as audit_table
from remediator.store.tables import remediations as table
from remediator.store.views import (
    ActionView,
    AlertView,
    ListQuery,
    RemediationRow,
    RemediationView,
    StepView,
    TimelineEntry,
)

SHORT = 8
_ID = re.compile(r"^[0-9a-f-]{6,36}$")
DUPLICATE = "duplicate"

Cursor = tuple[datetime, str]
"""Where a page of remediations ended: the last row's (created_at, id)."""


class LookupError_(Exception):
    """An id that names no remediation (404) or several (400)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ReadModel:
    """The console's, the API's and the CLI's reads, one read transaction each."""

    def __init__(self, *, database: Database) -> None:
        self._database = database
        self.audit = AuditReads(database=database)
        """The audit log's pages and its chain check."""

    def remediations(self, q: ListQuery) -> tuple[list[RemediationRow], Cursor | None]:
        """Ladders newest first, with their current state; and the cursor for older ones."""
        with self._database.reading() as connection:
            return _list_remediations(connection, q)

    def resolve(self, id_or_prefix: str) -> str:
        """The full id of the remediation `id_or_prefix` names; LookupError_ otherwise."""
        with self._database.reading() as connection:
            return _resolve_id(connection, id_or_prefix)

    def remediation(self, id_or_prefix: str, *,
                    alertmanager_url: str | None = None) -> RemediationView:
        """The whole story of one remediation's ladder (any step's id shows the ladder);
        `alertmanager_url` is the Alertmanager UI its silence link opens."""
        with self._database.reading() as connection:
            return _remediation_view(connection, _resolve_id(connection, id_or_prefix),
                                     alertmanager_url=alertmanager_url)

    def find(self, id_or_prefix: str) -> Remediation:
        """The remediation (the step itself, with its request) `id_or_prefix` names."""
        with self._database.reading() as connection:
            full = _resolve_id(connection, id_or_prefix)
            found = remediations.get(connection, full)
        if found is None:  # cannot happen in one transaction; said for the type
            raise LookupError_(f"no remediation {full!r}", 404)
        return found

    def awaiting_approval(self) -> int:
        """How many remediation steps wait for an operator's answer."""
        with self._database.reading() as connection:
            return int(connection.execute(select(func.count()).select_from(table).where(
                table.c.state == "awaiting_approval")).scalar_one())

    def evidence(self, remediation_id: str) -> dict[str, Any]:
        """`{"evidence": [snapshot, ...], "hints": [...]}` of one step (`RemediationView`
        carries the same for a whole ladder)."""
        with self._database.reading() as connection:
            return _evidence_view(connection, remediation_id)

    def ping(self) -> None:
        """Return when the store answers a read; StoreUnavailable otherwise (readiness)."""
        with self._database.reading() as connection:
            connection.execute(select(1))


def _resolve_id(connection: Connection, text: str) -> str:
    """The full id for an id or a unique prefix; LookupError_ otherwise."""
    text = text.strip().lower()
    if not _ID.match(text):
        raise LookupError_(f"no remediation {text[:40]!r}", 404)
    found = list(connection.execute(select(table.c.id).where(
        table.c.id.like(text + "%")).limit(2)).scalars())
    if not found:
        raise LookupError_(f"no remediation {text!r}", 404)
    if len(found) > 1 and text not in found:
        raise LookupError_(f"{text!r} names more than one remediation: use more characters",
                           400)
    return text if text in found else found[0]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def silence_url(base: str | None, labels: dict[str, str]) -> str:
    """Alertmanager's UI link that opens a new silence with these labels as matchers."""
    if not base:
        return ""
    wanted = {k: v for k, v in labels.items() if k in ("alertname", "namespace", "pod",
                                                           "deployment", "instance", "node",
                                                           "job", "service")}
    matchers = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(wanted.items()))
    return f"{base.rstrip('/')}/#/silences/new?filter={quote('{' + matchers + '}', safe='')}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _latest_state() -> Any:
    inner = table.alias("latest")
    return (select(inner.c.state).where(inner.c.root_id == table.c.id)
            .order_by(desc(inner.c.step)).limit(1).scalar_subquery())


def _repeats() -> Any:
    return (select(func.count()).select_from(audit_table).where(
        audit_table.c.outcome == DUPLICATE, audit_table.c.fingerprint == table.c.fingerprint,
        audit_table.c.rule == table.c.rule, audit_table.c.ts >= table.c.created_at,
        or_(table.c.resolved_at.is_(None), audit_table.c.ts <= table.c.resolved_at))
        .scalar_subquery())


_DECISION_NAMES = sorted(o.value for o in DECISIONS)


def _decision() -> Any:
    """The outcome of the decision that created the remediation (its first decision entry)."""
    return (select(audit_table.c.outcome).where(
        audit_table.c.remediation_id == table.c.id,
        audit_table.c.outcome.in_(_DECISION_NAMES))
        .order_by(audit_table.c.id).limit(1).scalar_subquery())


def _decided(outcome: str | None, dry_run: bool) -> str:
    """The decision as audited; when retention took its entry, what the row still tells."""
    if outcome:
        return outcome
    return (Outcome.DRY_RUN if dry_run else Outcome.EXECUTED).value


def _steps() -> Any:
    inner = table.alias("ladder")
    return (select(func.count()).select_from(inner).where(inner.c.root_id == table.c.id)
            .scalar_subquery())


def _list_remediations(connection: Connection,
                       q: ListQuery) -> tuple[list[RemediationRow], Cursor | None]:
    """Ladders newest first, with their current state; and the cursor for older ones."""
    state = _latest_state().label("current_state")
    stmt = (select(table, state, _repeats().label("repeats"), _steps().label("steps"),
                   _decision().label("decision"))
            .where(table.c.step == 0)
            .order_by(desc(table.c.created_at), desc(table.c.id)).limit(q.limit + 1))
    for column, value in (("rule", q.rule), ("namespace", q.namespace),
                          ("alertname", q.alertname)):
        if value:
            stmt = stmt.where(table.c[column] == value)
    if q.state == "resolved":
        stmt = stmt.where(table.c.resolved_at.is_not(None))
    elif q.state:
        stmt = stmt.where(_latest_state() == q.state)
    if q.since is not None:
        stmt = stmt.where(table.c.created_at >= q.since)
    if q.until is not None:
        stmt = stmt.where(table.c.created_at < q.until)
    if q.before is not None:
        at, rid = q.before
        stmt = stmt.where(or_(table.c.created_at < at,
                              and_(table.c.created_at == at, table.c.id < rid)))
    rows = connection.execute(stmt).all()
    items = [RemediationRow(
        id=row.id, short_id=row.id[:SHORT], rule=row.rule, alertname=row.alertname,
        namespace=row.namespace, action=row.action, target=row.target,
        state=row.current_state or row.state, decision=_decided(row.decision, row.dry_run),
        steps=int(row.steps), repeats=int(row.repeats),
        dry_run=row.dry_run, resolved=row.resolved_at is not None,
        created_at=row.created_at.isoformat(), updated_at=row.updated_at.isoformat())
        for row in rows[:q.limit]]
    cursor = (rows[q.limit - 1].created_at, rows[q.limit - 1].id) if len(rows) > q.limit \
        else None
    return items, cursor


def _ladder_evidence(connection: Connection, remediation_ids: list[str]) -> tuple[
        list[Any], list[Any]]:
    """Evidence snapshots gathered around the ladder's actions, and diagnosis hints.

    Empty lists when nothing was gathered (no cluster, or a playbook action);
    the page then shows a placeholder.
    """
    evidence: list[Any] = []
    hints: list[Any] = []
    for remediation_id in remediation_ids:
        found = _evidence_view(connection, remediation_id)
        evidence.extend(found.get("evidence") or [])
        hints.extend(h for h in found.get("hints") or [] if h not in hints)
    return evidence, hints


def _evidence_view(connection: Connection, remediation_id: str) -> dict[str, Any]:
    """`{"evidence": [snapshot, ...], "hints": [...]}`; hints are those drawn before acting."""
    snapshots = evidence_store.for_remediation(connection, remediation_id)
    before = [s for s in snapshots if s["phase"] == evidence_store.BEFORE]
    hints = before[-1]["hints"] if before else []
    return {"evidence": snapshots, "hints": hints}


def _remediation_view(connection: Connection, remediation_id: str, *,
                      alertmanager_url: str | None = None) -> RemediationView:
    """The whole story of one remediation's ladder (any step's id shows the ladder)."""
    row = connection.execute(select(table).where(table.c.id == remediation_id)).one()
    root = connection.execute(select(table).where(table.c.id == row.root_id)).first() or row
    ladder = connection.execute(select(table).where(table.c.root_id == root.id)
                                .order_by(table.c.step)).all() or [root]
    newest = ladder[-1]
    entries = audit.entries_for(connection, [step.id for step in ladder])
    repeats = [audit.as_dict(r) for r in connection.execute(select(audit_table).where(
        audit_table.c.outcome == DUPLICATE, audit_table.c.fingerprint == root.fingerprint,
        audit_table.c.rule == root.rule, audit_table.c.ts >= root.created_at,
        audit_table.c.ts <= (root.resolved_at or datetime.max.replace(tzinfo=UTC)))
        .order_by(audit_table.c.id).limit(1000))]
    timeline = sorted(entries + repeats, key=lambda e: int(e["id"]))
    decided = _decisions(entries)
    evidence, hints = _ladder_evidence(connection, [step.id for step in ladder])
    labels = dict(root.labels)
    annotations = dict(root.annotations)
    return RemediationView(
        id=root.id, short_id=root.id[:SHORT], rule=root.rule, state=newest.state,
        decision=_decided(decided.get(root.id), root.dry_run),
        resolved_at=_iso(root.resolved_at), created_at=root.created_at.isoformat(),
        updated_at=max(step.updated_at for step in ladder).isoformat(),
        approval_expires=_iso(newest.approval_expires),
        alert=AlertView(alertname=root.alertname, fingerprint=root.fingerprint,
                        starts_at=root.starts_at.isoformat(), labels=labels,
                        annotations=annotations,
                        runbook_url=annotations.get("runbook_url", ""),
                        generator_url=root.generator_url or "",
                        silence_url=silence_url(alertmanager_url, labels)),
        action=_action(root), steps=[StepView(
            id=step.id, step=step.step, action=_action(step), state=step.state,
            decision=_decided(decided.get(step.id), step.dry_run),
            created_at=step.created_at.isoformat(), updated_at=step.updated_at.isoformat())
            for step in ladder],
        timeline=[_entry(e) for e in timeline], repeats=len(repeats),
        evidence=evidence, hints=hints, proposal=_proposal(timeline))


def _proposal(timeline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest proposal the GitOps gate recorded on an audit entry (`detail.gitops`)."""
    for entry in reversed(timeline):
        found = ((entry.get("detail") or {}).get("gitops") or {}).get("proposal")
        if isinstance(found, dict):
            return found
    return None


def _decisions(entries: list[dict[str, Any]]) -> dict[str, str]:
    """Each step's decision outcome, from its entries (oldest first)."""
    found: dict[str, str] = {}
    for e in entries:
        if e["outcome"] in _DECISION_NAMES and e["remediation_id"]:
            found.setdefault(e["remediation_id"], e["outcome"])
    return found


def _action(row: Any) -> ActionView:
    return ActionView(type=row.action, target=row.target, namespace=row.namespace,
                      dry_run=row.dry_run)


def _entry(e: dict[str, Any]) -> TimelineEntry:
    detail = dict(e.get("detail") or {})
    return TimelineEntry(id=int(e["id"]), ts=e["ts"], outcome=e["outcome"], step=e["step"],
                         action=e["action"], target=e["target"], reason=e["reason"],
                         duration_ms=e["duration_ms"], actor=str(detail.get("actor", "")),
                         detail=detail)
