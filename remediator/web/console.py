"""What the API and the page share: queries from parameters, views, answers to approvals.

Both run these in a worker thread; errors come out as HTTPException with a
one-line reason (400 for bad parameters, 404 unknown, 409 no longer awaiting).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from remediator.actions.kubernetes import target_check
from remediator.app.services import Services
from remediator.evidence.digest import EvidenceSummary, summarize
from remediator.model.timeparse import parse_time
from remediator.operate import approvals
from remediator.operate.operator_log import Actor
from remediator.store.drift_store import drift_report
from remediator.store.readmodel import LookupError_
from remediator.store.remediations import Remediation
from remediator.store.views import ListQuery, RemediationRow, RemediationView
from remediator.web.deps import client_address
from remediator.web.metrics import WebMetrics
from remediator.web.session import Principal


class AnswerBody(BaseModel):
    """An operator's reason as a JSON body: approve, decline, pause, resume, breaker reset.
    Strict: an unknown field or a reason that is not a string is refused (400)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


class AnswerView(BaseModel):
    remediation_id: str
    outcome: str
    """`approved` (the action is queued), `declined`, or the guard that refused it."""
    reason: str
    queued: bool


class RemediationDetail(RemediationView):
    """`GET /api/v1/remediations/{id}`: the view, and its evidence in brief."""

    summary: EvidenceSummary
    """What the evidence says first (`remediator.evidence.digest`): the newest snapshot's
    containers, log tail and objects, every snapshot's events with repeats folded, the
    hints with their facts, diagnostic plays' findings. `evidence` keeps every snapshot."""


class RemediationPage(BaseModel):
    items: list[RemediationRow]
    next_cursor: str | None


def actor_of(principal: Principal, request: Request) -> Actor:
    return Actor(name=principal.actor, via=principal.via, client=client_address(request))


def encode_cursor(after: tuple[datetime, str] | None) -> str | None:
    if after is None:
        return None
    raw = f"{after[0].isoformat()}|{after[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[datetime, str] | None:
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, _, rid = raw.partition("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None or not rid or len(rid) > 36:
            raise ValueError(rid)
        return when.astimezone(UTC), rid
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValueError(f"invalid cursor {value[:40]!r}") from None


def list_query(now: datetime, *, rule: str | None, namespace: str | None,
               alertname: str | None, state: str | None, since: str | None,
               until: str | None, limit: int, cursor: str | None) -> ListQuery:
    """A ListQuery from request parameters; ValueError naming the bad one."""
    return ListQuery(rule=rule or None, namespace=namespace or None,
                     alertname=alertname or None, state=state or None,
                     since=when(since, now), until=when(until, now),
                     limit=limit, before=decode_cursor(cursor))


def when(text: str | None, now: datetime) -> datetime | None:
    """`since`/`until` as UTC; ValueError for text no store can compare (calendar edges)."""
    if not text:
        return None
    value = parse_time(text, now)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"time {text[:40]!r} is outside the calendar") from None


def load_view(services: Services, remediation_id: str) -> RemediationView:
    settings = services.settings
    try:
        return services.reads.remediation(
            remediation_id,
            alertmanager_url=settings.alertmanager_external_url or settings.alertmanager_url)
    except LookupError_ as error:
        raise HTTPException(error.status, str(error)) from None


def load_detail(services: Services, remediation_id: str) -> RemediationDetail:
    view = load_view(services, remediation_id)
    return RemediationDetail(**dict(view), summary=summarize(view.evidence, view.hints,
                                                             now=services.clock()))


async def target_exists(services: Services, remediation_id: str) -> bool | None:
    """Ask the cluster whether the awaiting action's target is still there (approve only)."""
    def load() -> Remediation | None:
        try:
            return services.reads.find(remediation_id)
        except LookupError_:
            return None  # answer() reports the 404 with its reason

    current = await run_in_threadpool(load)
    if current is None or current.dry_run:
        return None
    return await target_check.target_exists(services.worker.actions, current.request)


def answer(services: Services, remediation_id: str, verb: str, actor: Actor,
           reason: str, *, metrics: WebMetrics,
           target_exists: bool | None = None) -> AnswerView:
    """Approve or decline (blocking; run in a thread)."""
    now = services.clock()
    try:
        full = services.reads.resolve(remediation_id)
    except LookupError_ as error:
        raise HTTPException(error.status, str(error)) from None
    try:
        if verb == "approve":
            result = approvals.approve(services.approval_store, remediation_id=full, actor=actor,
                                       reason=reason, now=now,
                                       rules=services.rulebook.current,
                                       policy=services.intake.policy,
                                       target_exists=target_exists)
        else:
            result = approvals.decline(services.approval_store, remediation_id=full, actor=actor,
                                       reason=reason, now=now)
    except approvals.ApprovalError as error:
        raise HTTPException(error.status, str(error)) from None
    metrics.operator_actions.labels(action=verb).inc()
    view = load_view(services, full)
    metrics.approvals.labels(rule=view.rule, outcome=result.outcome.value).inc()
    return AnswerView(remediation_id=result.remediation_id, outcome=result.outcome.value,
                      reason=result.reason, queued=result.queued)


def drift_json(services: Services) -> dict[str, Any]:
    """The drift report (`store.drift_store`) as the API and the page show it."""
    now = services.clock()
    items = drift_report(services.database, now=now)
    return {"items": [item.to_json(now) for item in items],
            "open": sum(1 for item in items if not item.reverted)}
