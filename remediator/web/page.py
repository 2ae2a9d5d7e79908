"""The on-call console: server-rendered pages, no JavaScript needed to read.

- `GET /`: remediations newest first, with their current state and repeats
  folded into a count; filters and older pages are query parameters, so a
  link pasted into an incident channel shows the same view.
- `GET /audit`: the raw audit log.
- `GET /drift`: live changes on GitOps-managed targets that git does not hold.
- `GET /effectiveness`: per rule and action, did the actions help (`web.effectiveness`).
- `GET /remediations/{id}`: one remediation's timeline, alert, links, the
  alert's expression graphed around the action (`web.graph`, inline SVG),
  escalation steps and evidence; approve/decline when it awaits approval.
- POST forms (approve, decline, pause, resume, breaker reset) need a session
  that may act and the form's CSRF token; a refusal is a 403 page saying why.
A browser without a session is sent to `/login`.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from remediator.evidence.digest import fold, summarize
from remediator.model.outcomes import REMEDIATION_STATES, Outcome
from remediator.operate import operations, operator_log
from remediator.store.audit.log import AuditQuery
from remediator.store.views import ListQuery, RemediationRow
from remediator.web import console, effectiveness
from remediator.web.console import actor_of
from remediator.web.deps import (
    ReadsDep,
    ServicesDep,
    acting_refusal,
    csrf_refusal,
    identify,
    note_refusal,
)
from remediator.web.graph import Grapher
from remediator.web.metrics import web_metrics
from remediator.web.session import Principal

_DEMO: ContextVar[bool] = ContextVar("console_demo", default=False)


async def console_mode(services: ServicesDep) -> None:
    """Every console page of a `serve --demo` says so (base.html's banner): set for the
    request, read by `render`, which the routes call without the services at hand."""
    _DEMO.set(services.settings.demo)


router = APIRouter(include_in_schema=False, dependencies=[Depends(console_mode)])

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
)

STATES = REMEDIATION_STATES
"""The state filter's options: every state a remediation can be in, from the one
vocabulary (`model.outcomes`), so a new outcome cannot be missing from the filter."""


async def page_viewer(request: Request, services: ServicesDep) -> Principal:
    """Who is reading; a browser without a session is sent to sign in."""
    found = await identify(request, services)
    if isinstance(found, str):
        note_refusal(request, services, found)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, "sign in first",
                            headers={"Location": f"/login?next={quote(target, safe='')}"})
    return found


Viewer = Annotated[Principal, Depends(page_viewer)]


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(demo=_DEMO.get(), **context),
                        status_code=status_code)


@router.get("/", response_class=HTMLResponse)
async def remediations_page(
    services: ServicesDep,
    reads: ReadsDep,
    viewer: Viewer,
    rule: str = "",
    namespace: str = "",
    state: str = "",
    alertname: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> HTMLResponse:
    filters = {"rule": rule, "namespace": namespace, "state": state, "alertname": alertname,
               "since": since, "until": until}
    error = ""
    try:
        q = console.list_query(services.clock(), rule=rule, namespace=namespace,
                               alertname=alertname, state=state, since=since, until=until,
                               limit=limit, cursor=cursor)
    except ValueError as problem:
        error, q = str(problem), ListQuery(limit=limit)

    def load() -> tuple[list[RemediationRow], str | None, dict[str, Any]]:
        items, after = reads.remediations(q)
        status = operations.status(services.operator_store, services.intake.policy,
                                   services.clock())
        return items, console.encode_cursor(after), status

    items, next_cursor, status = await run_in_threadpool(load)
    older = urlencode({**{k: v for k, v in filters.items() if v}, "cursor": next_cursor or ""})
    return render("list.html", nav="list", viewer=viewer, items=items, status=status,
                  filters=filters, error=error, states=STATES, next_cursor=next_cursor,
                  older=older, rules=[r.name for r in services.rulebook.current.rules])


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    services: ServicesDep,
    reads: ReadsDep,
    viewer: Viewer,
    rule: str = "",
    outcome: str = "",
    alertname: str = "",
    namespace: str = "",
    since: str = "24h",
    until: str = "",
    cursor: str = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HTMLResponse:
    now = services.clock()
    error = ""
    since_at = until_at = None
    try:
        since_at = console.when(since, now)
        until_at = console.when(until, now)
        if cursor and (not cursor.isdigit() or len(cursor) > 18):
            raise ValueError(f"invalid cursor {cursor[:40]!r}")
    except ValueError as problem:
        error, cursor = str(problem), ""
    q = AuditQuery(rule=rule or None, outcome=outcome or None, alertname=alertname or None,
                   namespace=namespace or None, since=since_at, until=until_at, limit=limit,
                   cursor=int(cursor) if cursor else None)

    items, next_cursor = await run_in_threadpool(reads.audit.query, q)
    filters = {"rule": rule, "outcome": outcome, "alertname": alertname,
               "namespace": namespace, "since": since, "until": until}
    older = urlencode({**{k: v for k, v in filters.items() if v},
                       "cursor": next_cursor or ""})
    return render("audit.html", nav="audit", viewer=viewer, items=items,
                  outcomes=[o.value for o in Outcome], error=error, filters=filters,
                  next_cursor=next_cursor, older=older,
                  rules=[r.name for r in services.rulebook.current.rules])


@router.get("/drift", response_class=HTMLResponse)
async def drift_page(services: ServicesDep, viewer: Viewer) -> HTMLResponse:
    """Changes made on GitOps-managed targets that git does not hold yet."""
    report = await run_in_threadpool(console.drift_json, services)
    return render("drift.html", nav="drift", viewer=viewer, **report)


@router.get("/effectiveness", response_class=HTMLResponse)
async def effectiveness_page(services: ServicesDep, reads: ReadsDep, viewer: Viewer,
                             since: Annotated[str, Query(max_length=20)] = "30d") -> HTMLResponse:
    """Per rule and action: verified, time to resolve against the baseline, recurrence."""
    try:
        result = await run_in_threadpool(effectiveness.compute, services, reads, since)
    except HTTPException as error:
        return render("error.html", error.status_code, viewer=viewer, status=error.status_code,
                      message=error.detail, back="/effectiveness")
    return render("effectiveness.html", nav="effectiveness", viewer=viewer,
                  **effectiveness.page_context(result, since))


@router.get("/remediations/{remediation_id}", response_class=HTMLResponse)
async def remediation_page(remediation_id: str, request: Request, services: ServicesDep,
                           viewer: Viewer, done: str = "") -> HTMLResponse:
    try:
        view = await run_in_threadpool(console.load_view, services, remediation_id)
    except HTTPException as error:
        return render("error.html", error.status_code, viewer=viewer, status=error.status_code,
                      message=error.detail, back="/")
    rule = services.rulebook.current.by_name(view.rule)
    later = ([getattr(spec, "type", "?") for spec in rule.escalate[len(view.steps) - 1:]]
             if rule is not None else [])
    grapher: Grapher = request.app.state.grapher
    graph = await grapher.graph(view, services.clock())
    return render("detail.html", viewer=viewer, r=view, later=later, done=done[:300],
                  graph=graph,
                  s=summarize(view.evidence, view.hints, now=services.clock()),
                  raw=fold(view.evidence))


async def _acting(request: Request, viewer: Principal, back: str) -> HTMLResponse | None:
    """A 403 page when this viewer may not act or the form lacks its CSRF token."""
    refusal = acting_refusal(viewer) or await csrf_refusal(request, viewer)
    if refusal is None:
        return None
    return render("error.html", 403, viewer=viewer, status=403, message=refusal, back=back)


@router.post("/remediations/{remediation_id}/{verb}", response_model=None)
async def answer_form(remediation_id: str, verb: str, request: Request, services: ServicesDep,
                      viewer: Viewer,
                      reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    back = f"/remediations/{quote(remediation_id, safe='')}"
    if verb not in ("approve", "decline"):
        return render("error.html", 404, viewer=viewer, status=404,
                      message=f"unknown action {verb[:40]!r}", back=back)
    refused = await _acting(request, viewer, back)
    if refused is not None:
        return refused
    try:
        exists = (await console.target_exists(services, remediation_id)
                  if verb == "approve" else None)
        result = await run_in_threadpool(partial(console.answer, target_exists=exists,
                                                 metrics=web_metrics(request)),
                                         services, remediation_id, verb,
                                         actor_of(viewer, request), reason)
    except HTTPException as error:
        return render("error.html", error.status_code, viewer=viewer,
                      status=error.status_code, message=error.detail, back=back)
    if result.queued:
        services.worker.wake()
    return RedirectResponse(f"/remediations/{result.remediation_id}?"
                            f"{urlencode({'done': result.reason})}", status_code=303)


_CONTROLS = {"pause": operator_log.pause, "resume": operator_log.resume,
             "breaker-reset": operator_log.reset_breaker}


@router.post("/console/{control}", response_model=None)
async def control_form(control: str, request: Request, services: ServicesDep, viewer: Viewer,
                       reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    run = _CONTROLS.get(control)
    if run is None:
        return render("error.html", 404, viewer=viewer, status=404,
                      message=f"unknown control {control[:40]!r}", back="/")
    refused = await _acting(request, viewer, "/")
    if refused is not None:
        return refused
    if control == "pause" and not reason.strip():
        return render("error.html", 400, viewer=viewer, status=400,
                      message="a pause needs a reason (it is quoted in every paused decision)",
                      back="/")
    web_metrics(request).operator_actions.labels(action=control.replace("-", "_")).inc()
    await run_in_threadpool(lambda: run(services.operator_store,
                                        actor=actor_of(viewer, request), reason=reason,
                                        now=services.clock()))
    return RedirectResponse("/", status_code=303)
