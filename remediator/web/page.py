"""GET /: the audit log as one server-rendered page for on-call people.

No JavaScript build, no client state: filters are query parameters, so a
link pasted into an incident channel shows the same view. Auth as the API
(put it behind a proxy that adds the bearer token, e.g. oauth2-proxy).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from remediator import operations
from remediator.outcomes import Outcome
from remediator.store import audit
from remediator.store.audit import AuditQuery
from remediator.timeparse import parse_time
from remediator.web.deps import Reader, ServicesDep

router = APIRouter()

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
)


@router.get("/", response_class=HTMLResponse, dependencies=[Reader])
async def page(
    services: ServicesDep,
    rule: str = "",
    outcome: str = "",
    alertname: str = "",
    namespace: str = "",
    since: str = "24h",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HTMLResponse:
    now = services.clock()
    error = ""
    try:
        since_at = parse_time(since, now) if since else None
    except ValueError as problem:
        error, since_at = str(problem), None
    q = AuditQuery(rule=rule or None, outcome=outcome or None, alertname=alertname or None,
                   namespace=namespace or None, since=since_at, limit=limit)

    def load() -> tuple[list[dict[str, object]], dict[str, object]]:
        with services.database.reading() as connection:
            items, _ = audit.query(connection, q)
        return items, operations.status(services.database, services.intake.policy, now)

    items, status = await run_in_threadpool(load)
    html = _templates.get_template("page.html").render(
        items=items, status=status, outcomes=[o.value for o in Outcome], error=error,
        filters={"rule": rule, "outcome": outcome, "alertname": alertname,
                 "namespace": namespace, "since": since, "limit": limit},
        rules=[r.name for r in services.rulebook.current.rules])
    return HTMLResponse(html)
