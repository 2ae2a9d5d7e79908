"""Write a batch of decisions: audit rows, remediation rows and job rows, together.

Called inside one `Database.writing()` transaction by the intake: either all
of a delivery's decisions are durable, or none is and Alertmanager retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Executable, delete, select

from remediator.decide import followups
from remediator.decide.decision import Decision
from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.rules.promql import render_promql
from remediator.rules.templating import Template, TemplateError
from remediator.store import changes, controls, jobs, remediations, upsert
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditRecord
from remediator.store.database import note_changed
from remediator.store.tables import RELATED_LABELS, alerts, related_columns
from remediator.store.tables import remediations as remediations_table

_REMEMBER: dict[str, Executable] = {}
"""The upsert per dialect, built once: every delivery runs it (see `store.jobs`)."""


def _remember_statement(connection: Connection) -> Executable:
    dialect = connection.dialect.name
    if dialect not in _REMEMBER:
        stmt = upsert.insert(connection, alerts)
        _REMEMBER[dialect] = stmt.on_conflict_do_update(index_elements=["fingerprint"], set_={
            "status": stmt.excluded.status, "labels": stmt.excluded.labels,
            "starts_at": stmt.excluded.starts_at, "updated_at": stmt.excluded.updated_at,
            **{name: stmt.excluded[name] for name in RELATED_LABELS}},
            where=alerts.c.starts_at <= stmt.excluded.starts_at)
    return _REMEMBER[dialect]


def remember_alerts(connection: Connection, batch: Sequence[Alert], now: datetime) -> None:
    """Upsert alerts as last seen (for `unless_firing`, reconciliation and the
    pre-flight's related alerts, which read the label columns `related_columns`
    and may reuse a read until this commits: `note_changed`).

    An alert's latest episode wins: a late notification of an earlier episode
    (an older startsAt) never overwrites it, so a stale `resolved` cannot make
    a firing alert look resolved to `unless_firing` (issue 20, item 8).
    """
    if not batch:
        return
    note_changed(connection, changes.ALERTS)
    latest: dict[str, Alert] = {}
    for alert in batch:
        seen = latest.get(alert.fingerprint)
        if seen is None or seen.starts_at <= alert.starts_at:
            latest[alert.fingerprint] = alert
    connection.execute(_remember_statement(connection), [
        {"fingerprint": fp, "alertname": alert.alertname, "status": alert.status,
         "labels": dict(alert.labels), "starts_at": alert.starts_at, "updated_at": now,
         **related_columns(alert.labels)}
        for fp, alert in latest.items()])


def forget_resolved_alerts(connection: Connection, cutoff: datetime) -> int:
    """Retention: alerts resolved before `cutoff` are no longer needed for guards."""
    result = connection.execute(delete(alerts).where(alerts.c.status == "resolved",
                                                     alerts.c.updated_at < cutoff))
    return int(result.rowcount or 0)


@dataclass
class _Rows:
    """What a batch of decisions writes, gathered to be inserted once per table."""

    audit: list[AuditRecord] = field(default_factory=list)
    remediations: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)


def record(connection: Connection, decisions: Sequence[Decision], *, now: datetime,
           group_key: str) -> list[dict[str, Any]]:
    """Persist decisions; return their summaries with remediation ids."""
    rows = _Rows()
    summaries = []
    closing = remediations.close_open(connection, _resolved_episodes(decisions), now)
    for decision in decisions:
        if decision.outcome is Outcome.PAUSED:
            decision = _quote_pause(connection, decision)
        if decision.outcome is Outcome.RESOLVED:
            decision = _name_the_episode(decision, closing)
        summary = decision.summary()
        if decision.outcome is Outcome.RESOLVED:
            summary["remediation_ids"] = _resolve(decision, closing, rows, now=now,
                                                  group_key=group_key)
        elif decision.creates_remediation:
            summary["remediation_id"] = _open(connection, decision, rows, now=now,
                                              group_key=group_key)
        else:
            rows.audit.append(_audit(decision, now, group_key, decision.parent_id))
        if decision.trips_breaker:
            controls.set_control(connection, controls.BREAKER, flag=True, at=now,
                                 reason=decision.reason)
        summaries.append(summary)
    remediations.insert_rows(connection, rows.remediations)
    jobs.enqueue_many(connection, rows.jobs)
    audit.append(connection, rows.audit)
    return summaries


def _resolve(decision: Decision, closing: remediations.Closing, rows: _Rows, *,
             now: datetime, group_key: str) -> list[str]:
    """A `resolved` decision: audit each remediation it closed and queue their follow-ups.

    Several rules' `resolved` for one alert: the first closes them all.
    """
    closed = closing.closed.pop(decision.alert.fingerprint, [])
    for remediation in closed:
        rows.audit.append(_audit(decision, now, group_key, remediation.id,
                                 rule=remediation.rule, step=remediation.step))
    rows.jobs.extend(followup_jobs([(r.id, r.followups) for r in closed], now=now))
    if not closed:
        rows.audit.append(_audit(decision, now, group_key, None))
    return [r.id for r in closed]


def _open(connection: Connection, decision: Decision, rows: _Rows, *, now: datetime,
          group_key: str) -> str:
    """A decision that creates a remediation: its row, its audit entry and its action job."""
    remediation_id = remediations.new_id()
    root_id = _root_of(connection, decision) or remediation_id
    rows.remediations.append(remediations.row_for(
        decision, remediation_id=remediation_id, root_id=root_id, now=now,
        group_key=group_key))
    if decision.outcome is Outcome.AWAITING_APPROVAL:
        pass  # no job until a human approves (see remediator.operate.approvals)
    elif decision.outcome is Outcome.EXECUTED:
        rows.jobs.append({"kind": jobs.ACTION, "remediation_id": remediation_id,
                          "run_at": now, "payload": _verify_payload(decision)})
    elif decision.check_run:
        rows.jobs.append({"kind": jobs.ACTION, "remediation_id": remediation_id,
                          "run_at": now, "payload": {"check": True}})
    rows.audit.append(_audit(decision, now, group_key, remediation_id))
    return remediation_id


def _resolved_episodes(decisions: Sequence[Decision]) -> dict[str, datetime]:
    """Fingerprint -> the latest startsAt resolved in this batch (`close_open`)."""
    episodes: dict[str, datetime] = {}
    for d in decisions:
        if d.outcome is Outcome.RESOLVED:
            known = episodes.get(d.alert.fingerprint)
            episodes[d.alert.fingerprint] = (d.alert.starts_at if known is None
                                             else max(known, d.alert.starts_at))
    return episodes


def _name_the_episode(decision: Decision, closing: remediations.Closing) -> Decision:
    """A late resolve of an earlier episode says so: it closed nothing of the open one."""
    later = closing.later.get(decision.alert.fingerprint)
    if later is None:
        return decision
    started = decision.alert.starts_at.astimezone(UTC).isoformat(timespec="seconds")
    return replace(decision, reason=(
        f"{decision.reason}: the episode started {started}; the later episode started "
        f"{later.isoformat(timespec='seconds')} stays open"))


def _quote_pause(connection: Connection, decision: Decision) -> Decision:
    """A `paused` decision quotes the operator's reason for the pause."""
    flag = controls.read(connection).get(controls.PAUSED)
    if not flag or not flag[0] or not flag[2]:
        return decision
    return replace(decision, reason=f'{decision.reason}: "{flag[2]}"')


def verify_payload(decision: Decision) -> dict[str, Any]:
    """The action job's payload (its verification), for jobs queued after approval."""
    return _verify_payload(decision)


def followup_jobs(steps: Sequence[tuple[str, Sequence[ActionRequest]]], *,
                  now: datetime) -> list[dict[str, Any]]:
    """Job rows for the follow-ups of resolved remediations (given oldest first)."""
    return [{"kind": jobs.FOLLOWUP, "remediation_id": remediation_id, "run_at": now,
             "payload": {"request": request.to_json()}}
            for remediation_id, request in followups.merged(steps)]


def _verify_payload(decision: Decision) -> dict[str, Any]:
    """The rule's verification, fixed at decision time (a reload cannot change it)."""
    verify = decision.rule.verify if decision.rule is not None else None
    if verify is None:
        return {}
    return {"verify_after": verify.after.total_seconds(),
            "verify_expr": promql_expr(verify.expr, decision.alert)}


def promql_expr(template: Template | None, alert: Alert) -> str | None:
    """The rule's verify expression for this alert, label values escaped for PromQL.

    Each value is escaped for the context it lands in (a string, a regex
    matcher's string, a raw string, a bare number: see `promql`), so a label
    cannot end the string or widen a regex and change the query. A template
    that cannot render safely (a missing label, a value that fits nowhere)
    falls back to checking the alert itself.
    """
    if template is None:
        return None
    try:
        return render_promql(template, alert.labels, alert.annotations)
    except TemplateError:
        return None


def _root_of(connection: Connection, decision: Decision) -> str | None:
    if decision.parent_id is None:
        return None
    root: str | None = connection.execute(select(remediations_table.c.root_id).where(
        remediations_table.c.id == decision.parent_id)).scalar()
    return root


def _audit(decision: Decision, now: datetime, group_key: str, remediation_id: str | None,
           *, rule: str | None = None, step: int | None = None) -> AuditRecord:
    alert = decision.alert
    request = decision.request
    return AuditRecord(
        ts=now,
        outcome=decision.outcome.value,
        remediation_id=remediation_id,
        rule=rule if rule is not None else decision.rule_name,
        step=step if step is not None else decision.step,
        alertname=alert.alertname,
        fingerprint=alert.fingerprint,
        namespace=(request.namespace if request and request.namespace
                   else alert.labels.get("namespace", "")),
        action=request.type if request else "",
        target=request.target if request else "",
        reason=decision.reason,
        runbook_url=alert.runbook_url,
        group_key=group_key,
        labels=alert.labels,
    )


def record_outcome(connection: Connection, remediation: remediations.Remediation, *,
                   outcome: Outcome, reason: str, now: datetime,
                   duration_ms: float | None = None, detail: dict[str, Any] | None = None,
                   state: str | None = None, action: str | None = None) -> None:
    """Append one outcome of a remediation (result, verification, escalation)."""
    if state is not None:
        remediations.set_state(connection, remediation.id, state, now)
    request = remediation.request
    alert = remediation.alert
    audit.append(connection, [AuditRecord(
        ts=now, outcome=outcome.value, remediation_id=remediation.id, rule=remediation.rule,
        step=remediation.step, alertname=alert.alertname, fingerprint=alert.fingerprint,
        namespace=request.namespace or alert.labels.get("namespace", ""),
        action=action or request.type, target=request.target, reason=reason,
        duration_ms=duration_ms, runbook_url=alert.runbook_url,
        group_key=remediation.group_key, labels=alert.labels, detail=detail or {})])
