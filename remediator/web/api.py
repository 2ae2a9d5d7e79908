"""/api/v1: the audit log, remediations, rules, and operator controls."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from remediator import __version__
from remediator.app.services import Services
from remediator.model.outcomes import Outcome
from remediator.model.timeparse import parse_time
from remediator.operate import operations, operator_log
from remediator.store.audit.log import AuditQuery
from remediator.store.views import RemediationRow
from remediator.web import console, effectiveness
from remediator.web.console import (
    AnswerBody,
    AnswerView,
    RemediationDetail,
    RemediationPage,
    actor_of,
)
from remediator.web.deps import OperatorDep, Reader, ReadsDep, ServicesDep
from remediator.web.metrics import web_metrics
from remediator.web.responses import FastJSONResponse

router = APIRouter(prefix="/api/v1")


@router.get("/audit", dependencies=[Reader], response_model=dict[str, Any])
async def list_audit(
    services: ServicesDep,
    reads: ReadsDep,
    rule: str | None = None,
    alertname: str | None = None,
    namespace: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> JSONResponse:
    """Audit entries, newest first; pass `next_cursor` back as `cursor` for older ones."""
    if outcome is not None and outcome not in Outcome.__members__.values():
        raise HTTPException(400, f"unknown outcome {outcome!r}; one of: "
                            + ", ".join(o.value for o in Outcome))
    now = services.clock()
    try:
        q = AuditQuery(rule=rule, alertname=alertname, namespace=namespace, outcome=outcome,
                       since=parse_time(since, now) if since else None,
                       until=parse_time(until, now) if until else None,
                       limit=limit, cursor=_cursor(cursor))
    except ValueError as error:
        raise HTTPException(400, str(error)) from None

    def run() -> FastJSONResponse:
        items, next_cursor = reads.audit.query(q)
        # Entries are JSON values already: FastAPI's encoder would walk every one
        # again (40 ms for a 500-entry page, three times the query). Encoded here,
        # off the event loop, by orjson (see `responses`).
        return FastJSONResponse({"items": items,
                                 "next_cursor": str(next_cursor) if next_cursor else None})

    return await run_in_threadpool(run)


def _cursor(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:  # a 64-bit id at most
        raise ValueError(f"invalid cursor {value!r}")
    return int(value)


@router.get("/remediations", dependencies=[Reader])
async def list_remediations(
    services: ServicesDep,
    reads: ReadsDep,
    rule: str | None = None,
    namespace: str | None = None,
    alertname: str | None = None,
    state: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> RemediationPage:
    """Remediations (ladders) newest first with their current state; `cursor` for older."""
    try:
        q = console.list_query(services.clock(), rule=rule, namespace=namespace,
                               alertname=alertname, state=state, since=since, until=until,
                               limit=limit, cursor=cursor)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None

    def run() -> tuple[list[RemediationRow], str | None]:
        items, after = reads.remediations(q)
        return items, console.encode_cursor(after)

    items, next_cursor = await run_in_threadpool(run)
    return RemediationPage(items=items, next_cursor=next_cursor)


@router.get("/remediations/{remediation_id}", dependencies=[Reader])
async def get_remediation(remediation_id: str, services: ServicesDep) -> RemediationDetail:
    """One remediation (by id or unique prefix): alert, action, state, ladder, timeline,
    evidence, hints, and the evidence's summary."""
    return await run_in_threadpool(console.load_detail, services, remediation_id)


@router.post("/remediations/{remediation_id}/approve")
async def approve(remediation_id: str, request: Request, services: ServicesDep,
                  principal: OperatorDep, body: AnswerBody | None = None) -> AnswerView:
    """Approve a remediation awaiting approval; every guard is checked again first."""
    exists = await console.target_exists(services, remediation_id)
    answer = await run_in_threadpool(partial(console.answer, target_exists=exists,
                                             metrics=web_metrics(request)), services,
                                     remediation_id, "approve", actor_of(principal, request),
                                     body.reason if body else "")
    if answer.queued:
        services.worker.wake()
    return answer


@router.post("/remediations/{remediation_id}/decline")
async def decline(remediation_id: str, request: Request, services: ServicesDep,
                  principal: OperatorDep, body: AnswerBody | None = None) -> AnswerView:
    """Decline a remediation awaiting approval: nothing runs."""
    return await run_in_threadpool(console.answer, services, remediation_id, "decline",
                                   actor_of(principal, request), body.reason if body else "",
                                   metrics=web_metrics(request))


@router.get("/rules", dependencies=[Reader])
async def list_rules(services: ServicesDep) -> dict[str, Any]:
    current = services.rulebook.current
    return {
        "digest": current.digest,
        "sources": list(current.sources),
        "loaded_at": services.rulebook.loaded_at.isoformat(),
        "rules": [rule.model_dump(mode="json") for rule in current.rules],
    }


@router.get("/drift", dependencies=[Reader])
async def get_drift(services: ServicesDep) -> dict[str, Any]:
    """Live changes on GitOps-managed targets that git does not hold yet, newest first:
    remediation id, age, pull request (if proposed too) and whether the controller has
    since reverted it (docs/gitops-ownership.md)."""
    return await run_in_threadpool(console.drift_json, services)


@router.get("/effectiveness", dependencies=[Reader])
async def get_effectiveness(services: ServicesDep, reads: ReadsDep,
                            since: Annotated[str, Query(max_length=20)] = "30d") -> dict[str, Any]:
    """Per rule and action over `since` (e.g. 30d): executed, verified, time to resolve
    against the baseline, recurrence, top targets (docs/effectiveness.md)."""
    result = await run_in_threadpool(effectiveness.compute, services, reads, since)
    return result.to_json()


@router.get("/status", dependencies=[Reader])
async def get_status(services: ServicesDep) -> dict[str, Any]:
    return await run_in_threadpool(_status, services)


def control_reason(body: AnswerBody | None = None, reason: str = "") -> str:
    """The operator's reason for a pause, resume or breaker reset: `?reason=` (as always)
    or a JSON body `{"reason": "..."}`. A body of another shape (wrong type, unknown
    field, not JSON) is a 400 naming the problem, never silently dropped; so is a reason
    given both ways that disagrees."""
    given = body.reason if body is not None else ""
    if given and reason and given != reason:
        raise HTTPException(400, "reason given twice (query and JSON body) and they "
                            "differ: give it once")
    return given or reason


ControlReason = Annotated[str, Depends(control_reason)]


@router.post("/breaker/reset")
async def reset_breaker(services: ServicesDep, request: Request, principal: OperatorDep,
                        reason: ControlReason) -> dict[str, Any]:
    web_metrics(request).operator_actions.labels(action="breaker_reset").inc()
    await run_in_threadpool(operator_log.reset_breaker, services.operator_store,
                            actor=actor_of(principal, request), reason=reason,
                            now=services.clock())
    return await run_in_threadpool(_status, services)


@router.post("/pause")
async def pause(services: ServicesDep, request: Request, principal: OperatorDep,
                reason: ControlReason) -> dict[str, Any]:
    web_metrics(request).operator_actions.labels(action="pause").inc()
    await run_in_threadpool(operator_log.pause, services.operator_store,
                            actor=actor_of(principal, request),
                            reason=reason or "paused via API", now=services.clock())
    return await run_in_threadpool(_status, services)


@router.post("/resume")
async def resume(services: ServicesDep, request: Request, principal: OperatorDep,
                 reason: ControlReason) -> dict[str, Any]:
    web_metrics(request).operator_actions.labels(action="resume").inc()
    await run_in_threadpool(operator_log.resume, services.operator_store,
                            actor=actor_of(principal, request), reason=reason,
                            now=services.clock())
    return await run_in_threadpool(_status, services)


def _status(services: Services) -> dict[str, Any]:
    """`operations.status`, and what only the running service knows: its version and
    the rules it has loaded (what `remediator status --server` shows, issue 23)."""
    found = operations.status(services.operator_store, services.intake.policy,
                              services.clock())
    current = services.rulebook.current
    return {**found, "version": __version__,
            "rules": {"count": len(current.rules), "digest": current.digest,
                      "loaded_at": services.rulebook.loaded_at.isoformat()}}
