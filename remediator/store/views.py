"""What the console and the API show about remediations: documented shapes, not rows.

`GET /api/v1/remediations/{id}` returns `RemediationView` (its JSON schema is
in `/api/openapi.json`); the page and `remediator show` render the same
object. Internal columns (the idempotency key, follow-up requests) stay out.
`ListQuery` is what a list asks for; `ReadModel` (`store.readmodel`) answers both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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
    decision: str = ""
    """The decision that made this step: executed, dry_run or awaiting_approval (its
    `state` is what became of it since)."""
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
    decision: str = ""
    """The decision that started the remediation (executed, dry_run, awaiting_approval):
    secondary to `state`, which says what became of it (an executed action can fail)."""
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
    proposal: dict[str, Any] | None = None
    """The newest change proposed to git for this remediation (GitOps `propose`): branch,
    commit, pr_url (None without a forge) and files; None when nothing was proposed."""


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
    """The ladder's current state (its newest step's): what on-call reads first."""
    decision: str = ""
    """The decision that started it (executed, dry_run, awaiting_approval)."""
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
