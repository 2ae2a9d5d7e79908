"""Prometheus conventions: /metrics, /-/healthy, /-/ready, POST /-/reload."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from remediator.operate import operator_log
from remediator.operate.operator_log import Actor
from remediator.rules.model import RuleLoadError
from remediator.store import StoreUnavailable
from remediator.web.deps import OperatorDep, ServicesDep, client_address
from remediator.web.metrics import web_metrics

router = APIRouter()


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/-/healthy")
async def healthy() -> PlainTextResponse:
    return PlainTextResponse("remediator is healthy\n")


@router.get("/-/ready")
async def ready(services: ServicesDep) -> PlainTextResponse:
    """Ready when the store answers: without it no delivery can be acknowledged."""
    try:
        await run_in_threadpool(services.reads.ping)
    except StoreUnavailable as error:
        return PlainTextResponse(f"store unavailable: {error}\n", status_code=503)
    return PlainTextResponse("remediator is ready\n")


@router.post("/-/reload")
async def reload(services: ServicesDep, request: Request,
                 principal: OperatorDep) -> JSONResponse:
    """Reload rules; bad rules are reported and the rules in force stay. Audited."""
    before = services.rulebook.current.digest
    actor = Actor(name=principal.actor, via=principal.via, client=client_address(request))
    web_metrics(request).operator_actions.labels(action="reload").inc()
    try:
        rules = await run_in_threadpool(services.rulebook.reload)
    except RuleLoadError as error:
        errors = [str(e) for e in error.errors]
        await run_in_threadpool(partial(operator_log.reloaded, services.operator_store, actor=actor,
                                        before=before, after=before, errors=errors,
                                        now=services.clock()))
        body: dict[str, Any] = {"status": "error", "kept": before, "errors": errors}
        return JSONResponse(body, status_code=400)
    await run_in_threadpool(partial(operator_log.reloaded, services.operator_store, actor=actor,
                                    before=before, after=rules.digest, now=services.clock()))
    return JSONResponse({"status": "ok", "rules": len(rules.rules), "digest": rules.digest,
                         "previous_digest": before})
