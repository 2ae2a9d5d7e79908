"""Prometheus conventions: /metrics, /-/healthy, /-/ready, POST /-/reload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from remediator.rules import RuleLoadError
from remediator.store import StoreUnavailable
from remediator.web.deps import Operator, ServicesDep

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
    def probe() -> None:
        with services.database.reading() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(probe)
    except StoreUnavailable as error:
        return PlainTextResponse(f"store unavailable: {error}\n", status_code=503)
    return PlainTextResponse("remediator is ready\n")


@router.post("/-/reload", dependencies=[Operator])
async def reload(services: ServicesDep) -> JSONResponse:
    """Reload rules; bad rules are reported and the rules in force stay."""
    try:
        rules = await run_in_threadpool(services.rulebook.reload)
    except RuleLoadError as error:
        body: dict[str, Any] = {"status": "error", "kept": services.rulebook.current.digest,
                                "errors": [str(e) for e in error.errors]}
        return JSONResponse(body, status_code=400)
    return JSONResponse({"status": "ok", "rules": len(rules.rules), "digest": rules.digest})
