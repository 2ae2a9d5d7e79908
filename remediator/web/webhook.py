"""POST /webhook/alertmanager: validate, decide, commit, then answer.

Every failure is a 4xx with a reason and an audit entry `rejected`; a store
that cannot commit is a 503 so Alertmanager retries. Never a 500 from input.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from remediator.app.services import Services
from remediator.model.alerts import WebhookPayload
from remediator.store import StoreUnavailable
from remediator.web.deps import ServicesDep, auth_failure
from remediator.web.metrics import web_metrics
from remediator.web.refusals import refuse
from remediator.web.responses import FastJSONResponse

router = APIRouter()
log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with its `$defs` references replaced by the definitions themselves."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _payload_schema() -> dict[str, Any]:
    """WebhookPayload as OpenAPI documents it (the handler reads the body itself)."""
    schema = WebhookPayload.model_json_schema(by_alias=True)
    body = _inline(schema, schema.get("$defs", {}))
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": body}}}}


@router.post("/webhook/alertmanager", openapi_extra=_payload_schema())
async def alertmanager_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    started = time.perf_counter()
    response = await _handle(request, services)
    metrics = web_metrics(request)
    metrics.deliveries.labels(code=str(response.status_code)).inc()
    metrics.webhook_duration.observe(time.perf_counter() - started)
    return response


async def _handle(request: Request, services: Services) -> JSONResponse:
    client = request.client.host if request.client else ""
    failure = auth_failure(request, services, read_only=False)
    if failure:
        return await refuse(request, services, failure)
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        return await _reject(services, 415, "Content-Type must be application/json, not "
                             f"{content_type[:100]!r}", {"client": client})
    try:
        body = await _read_limited(request, services.settings.max_body_bytes)
    except ClientDisconnect:  # gone mid-body (or cut off by the body deadline): no one to answer
        log.info("client %s went away before sending the whole body", client)
        return JSONResponse({"error": "client disconnected"}, status_code=400)
    except BodyTooLarge:
        return await _reject(services, 413, "payload larger than "
                             f"{services.settings.max_body_bytes} bytes", {"client": client})
    try:
        payload = WebhookPayload.model_validate_json(body)
    except ValidationError as error:
        reason, errors = _describe(error)
        status = 400 if errors and errors[0]["type"].startswith("json") else 422
        return await _reject(services, status, reason, {"client": client, "errors": errors})
    try:
        decisions = await services.writer.submit(payload.alerts, payload.group_key)
    except StoreUnavailable as error:
        return JSONResponse({"error": f"store unavailable: {error}"}, status_code=503,
                            headers={"Retry-After": "5"})
    services.worker.wake()
    answer: dict[str, Any] = {"received": len(payload.alerts), "decisions": decisions}
    if payload.truncated_alerts and services.catch_up is not None:
        answer["truncated"] = payload.truncated_alerts
        answer["reconciling"] = services.catch_up.request(payload.truncated_alerts)
    return FastJSONResponse(answer)


def _is_json(content_type: str) -> bool:
    """`application/json`, with parameters (`; charset=utf-8`) or not."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _describe(error: ValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = [{"loc": _printable(".".join(map(str, e["loc"]))) or "(body)", "msg": e["msg"],
               "type": e["type"]} for e in error.errors(include_url=False, include_input=False)]
    first = errors[0] if errors else {"loc": "(body)", "msg": "invalid"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid payload: {first['loc']}: {first['msg']}{more}", errors[:20]


def _printable(text: str) -> str:
    """A location with its NUL characters escaped: a label name holding one is named in
    the audited reason, and PostgreSQL text cannot hold NUL (a 500, not the 422)."""
    return text.replace("\x00", "\\x00")


async def _reject(services: Services, status: int, reason: str, detail: dict[str, Any],
                  headers: dict[str, str] | None = None) -> JSONResponse:
    # The rejection stands even when it cannot be audited right now.
    with contextlib.suppress(StoreUnavailable):
        await run_in_threadpool(services.intake.reject, reason=reason,
                                detail={"status": status, **detail})
    body = {"error": reason, "details": detail.get("errors", [])}
    return JSONResponse(body, status_code=status, headers=headers)
