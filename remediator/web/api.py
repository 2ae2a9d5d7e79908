"""/api/v1: the audit log, remediations, rules, and operator controls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from remediator import operations
from remediator.evidence.render import evidence_view
from remediator.outcomes import Outcome
from remediator.services import Services
from remediator.store import audit, remediations
from remediator.store.audit import AuditQuery
from remediator.timeparse import parse_time
from remediator.web.deps import Operator, Reader, ServicesDep

router = APIRouter(prefix="/api/v1")


@router.get("/audit", dependencies=[Reader])
async def list_audit(
    services: ServicesDep,
    rule: str | None = None,
    alertname: str | None = None,
    namespace: str | None = None,
    outcome: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
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

    def run() -> tuple[list[dict[str, Any]], int | None]:
        with services.database.reading() as connection:
            return audit.query(connection, q)

    items, next_cursor = await run_in_threadpool(run)
    return {"items": items, "next_cursor": str(next_cursor) if next_cursor else None}


def _cursor(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:  # a 64-bit id at most
        raise ValueError(f"invalid cursor {value!r}")
    return int(value)


@router.get("/remediations/{remediation_id}", dependencies=[Reader])
async def get_remediation(remediation_id: str, services: ServicesDep) -> dict[str, Any]:
    """One remediation, every step of its ladder, and every audit entry of each."""
    def run() -> dict[str, Any] | None:
        with services.database.reading() as connection:
            row = remediations.get_row(connection, remediation_id)
            if row is None:
                return None
            steps = remediations.ladder(connection, row["root_id"])
            history = audit.entries_for(connection, [step["id"] for step in steps])
            return {**row, "steps": steps, "history": history,
                    **evidence_view(connection, remediation_id)}

    found = await run_in_threadpool(run)
    if found is None:
        raise HTTPException(404, f"no remediation {remediation_id!r}")
    return found


@router.get("/rules", dependencies=[Reader])
async def list_rules(services: ServicesDep) -> dict[str, Any]:
    current = services.rulebook.current
    return {
        "digest": current.digest,
        "sources": list(current.sources),
        "loaded_at": services.rulebook.loaded_at.isoformat(),
        "rules": [rule.model_dump(mode="json") for rule in current.rules],
    }


@router.get("/status", dependencies=[Reader])
async def get_status(services: ServicesDep) -> dict[str, Any]:
    return await run_in_threadpool(_status, services)


@router.post("/breaker/reset", dependencies=[Operator])
async def reset_breaker(services: ServicesDep) -> dict[str, Any]:
    await run_in_threadpool(operations.reset_breaker, services.database, services.clock(),
                            "api")
    return await run_in_threadpool(_status, services)


@router.post("/pause", dependencies=[Operator])
async def pause(services: ServicesDep, reason: str = "") -> dict[str, Any]:
    await run_in_threadpool(operations.set_paused, services.database, True,
                            reason or "paused via API", services.clock())
    return await run_in_threadpool(_status, services)


@router.post("/resume", dependencies=[Operator])
async def resume(services: ServicesDep) -> dict[str, Any]:
    await run_in_threadpool(operations.set_paused, services.database, False,
                            "resumed via API", services.clock())
    return await run_in_threadpool(_status, services)


def _status(services: Services) -> dict[str, Any]:
    return operations.status(services.database, services.intake.policy, services.clock())
