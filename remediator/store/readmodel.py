"""What the console and the API show about remediations: documented shapes, not rows.

`GET /api/v1/remediations/{id}` returns `RemediationView` (its JSON schema is
in `/api/openapi.json`); the page and `remediator show` render the same
object. Internal columns (the idempotency key, follow-up requests) stay out.
A remediation is addressed by its id or by any unique prefix of at least
six characters (the page shows eight).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, and_, desc, func, or_, select

from remediator.store import evidence_view as render
from remediator.store.audit import log as audit
from remediator.store.tables import audit as audit_table
from remediator.store.tables import remediations as table

SHORT = 8
_ID = re.compile(r"^[0-9a-f-]{6,36}$")
DUPLICATE = "duplicate"


class LookupError_(Exception):
    """An id that names no remediation (404) or several (400)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertView(_Frozen):
    alertname: str
    fingerprint: str
    starts_at: str
    labels: dict[str, str]
    annotations: dict[str, str]
    runbook_url: str
    generator_url: str
    """"Open in Prometheus": the expression that fired, as Alertmanager sent it."""
    silence_url: str
    """Alertmanager's new-silence form, pre-filled with this alert's labels ("" if unknown)."""


class ActionView(_Frozen):
    type: str
    target: str
    namespace: str
    dry_run: bool


class StepView(_Frozen):
    id: str
    step: int
    action: ActionView
    state: str
    created_at: str
    updated_at: str


class TimelineEntry(_Frozen):
    id: int
    ts: str
    outcome: str
    step: int
    action: str
    target: str
    reason: str
    duration_ms: float | None
    actor: str
    """Who, for operator actions and approvals (token name, proxy user, cli:user)."""
    detail: dict[str, Any]


class RemediationView(_Frozen):
    id: str
    short_id: str
    rule: str
    state: str
    """State of the newest ladder step (pending, succeeded, verified, exhausted...)."""
    resolved_at: str | None
    created_at: str
    updated_at: str
    approval_expires: str | None
    alert: AlertView
    action: ActionView
    steps: list[StepView]
    timeline: list[TimelineEntry]
    repeats: int
    """Alertmanager repeats of this alert folded into this remediation (`duplicate`)."""
    evidence: list[Any]
    """Snapshots (pod state, logs, events...) gathered before and after acting; empty when
    none was (no cluster connected, or a playbook action)."""
    hints: list[Any]
    """Diagnosis hints drawn from the evidence before acting."""


class RemediationRow(_Frozen):
    """One line of the list: the ladder's first step, its current state, its repeats."""

    id: str
    short_id: str
    rule: str
    alertname: str
    namespace: str
    action: str
    target: str
    state: str
    steps: int
    repeats: int
    dry_run: bool
    resolved: bool
    created_at: str
    updated_at: str


@dataclass(frozen=True, kw_only=True)
class ListQuery:
    rule: str | None = None
    namespace: str | None = None
    alertname: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    before: tuple[datetime, str] | None = None
    """Keyset cursor: rows created before this (created_at, id)."""


def resolve_id(connection: Connection, text: str) -> str:
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


def _steps() -> Any:
    inner = table.alias("ladder")
    return (select(func.count()).select_from(inner).where(inner.c.root_id == table.c.id)
            .scalar_subquery())


def list_remediations(connection: Connection,
                      q: ListQuery) -> tuple[list[RemediationRow], tuple[datetime, str] | None]:
    """Ladders newest first, with their current state; and the cursor for older ones."""
    state = _latest_state().label("current_state")
    stmt = (select(table, state, _repeats().label("repeats"), _steps().label("steps"))
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
        state=row.current_state or row.state, steps=int(row.steps), repeats=int(row.repeats),
        dry_run=row.dry_run, resolved=row.resolved_at is not None,
        created_at=row.created_at.isoformat(), updated_at=row.updated_at.isoformat())
        for row in rows[:q.limit]]
    cursor = (rows[q.limit - 1].created_at, rows[q.limit - 1].id) if len(rows) > q.limit \
        else None
    return items, cursor


def load_evidence(connection: Connection, remediation_ids: list[str]) -> tuple[
        list[Any], list[Any]]:
    """Evidence snapshots gathered around the ladder's actions, and diagnosis hints.

    Empty lists when nothing was gathered (no cluster, or a playbook action);
    the page then shows a placeholder.
    """
    evidence: list[Any] = []
    hints: list[Any] = []
    for remediation_id in remediation_ids:
        found = render.evidence_view(connection, remediation_id)
        evidence.extend(found.get("evidence") or [])
        hints.extend(h for h in found.get("hints") or [] if h not in hints)
    return evidence, hints


def remediation_view(connection: Connection, remediation_id: str, *,
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
    evidence, hints = load_evidence(connection, [step.id for step in ladder])
    labels = dict(root.labels)
    annotations = dict(root.annotations)
    return RemediationView(
        id=root.id, short_id=root.id[:SHORT], rule=root.rule, state=newest.state,
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
            created_at=step.created_at.isoformat(), updated_at=step.updated_at.isoformat())
            for step in ladder],
        timeline=[_entry(e) for e in timeline], repeats=len(repeats),
        evidence=evidence, hints=hints)


def _action(row: Any) -> ActionView:
    return ActionView(type=row.action, target=row.target, namespace=row.namespace,
                      dry_run=row.dry_run)


def _entry(e: dict[str, Any]) -> TimelineEntry:
    detail = dict(e.get("detail") or {})
    return TimelineEntry(id=int(e["id"]), ts=e["ts"], outcome=e["outcome"], step=e["step"],
                         action=e["action"], target=e["target"], reason=e["reason"],
                         duration_ms=e["duration_ms"], actor=str(detail.get("actor", "")),
                         detail=detail)
