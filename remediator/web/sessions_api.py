"""/api/v1/sessions: who is signed in to the console, and ending a session.

Listing reads; revoking acts (the webhook token, an acting session with its
CSRF token, or a proxy operator) and is an audited `operator` entry. A
session is named by its public id (the hash of the cookie's id) or a unique
prefix of at least 8 characters of it.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from remediator.operate import sessions as session_admin
from remediator.store.sessions import SessionRecord
from remediator.web.console import actor_of
from remediator.web.deps import OperatorDep, ReaderDep, ServicesDep, sessions
from remediator.web.metrics import web_metrics
from remediator.web.session import Expiry

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])

MIN_PREFIX = 8


class SessionView(BaseModel):
    id: str
    """The session's public id: names it, cannot be used as a cookie."""
    actor: str
    can_act: bool
    state: str
    """`live`, `revoked`, `expired` (absolute) or `idle`."""
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str
    client: str
    user_agent: str
    current: bool
    """The session this request came with."""


class SessionPage(BaseModel):
    items: list[SessionView]


class RevokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


class Revoked(BaseModel):
    session: SessionView
    revoked: bool
    """False when it had been revoked already (nothing was changed or audited)."""


def state_of(record: SessionRecord, expiry: Expiry, now: datetime) -> str:
    if record.revoked_at is not None:
        return "revoked"
    if now >= record.expires_at:
        return "expired"
    return "live" if expiry.live(record, now) else "idle"


def view(record: SessionRecord, expiry: Expiry, now: datetime, current: str) -> SessionView:
    return SessionView(id=record.id, actor=record.actor, can_act=record.can_act,
                       state=state_of(record, expiry, now), created_at=record.created_at,
                       last_seen_at=record.last_seen_at, expires_at=record.expires_at,
                       revoked_at=record.revoked_at, revoked_by=record.revoked_by,
                       client=record.client, user_agent=record.user_agent,
                       current=record.id == current)


@router.get("")
async def list_sessions(request: Request, services: ServicesDep, principal: ReaderDep,
                        all: bool = False,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> SessionPage:
    """Console sessions newest first: live ones, or with `all=true` those ended lately too."""
    expiry, now = sessions(request).expiry, services.clock()
    found = await run_in_threadpool(partial(session_admin.listing, services.operator_store, now=now,
                                            idle_since=now - expiry.idle, include_ended=all,
                                            limit=limit))
    return SessionPage(items=[view(r, expiry, now, principal.session) for r in found])


@router.post("/{session_id}/revoke")
async def revoke_session(session_id: str, request: Request, services: ServicesDep,
                         principal: OperatorDep, body: RevokeBody | None = None) -> Revoked:
    """End a session on every replica now (audited as `session_revoke`)."""
    if len(session_id) < MIN_PREFIX:
        raise HTTPException(400, f"give at least {MIN_PREFIX} characters of the session id")
    now = services.clock()
    try:
        record, changed = await run_in_threadpool(partial(
            session_admin.revoke, services.operator_store, session_id,
            actor=actor_of(principal, request), reason=body.reason if body else "", now=now))
    except session_admin.AmbiguousSession as error:
        raise HTTPException(400, str(error)) from None
    except session_admin.UnknownSession as error:
        raise HTTPException(404, str(error)) from None
    if changed:
        web_metrics(request).operator_actions.labels(action="session_revoke").inc()
    return Revoked(session=view(record, sessions(request).expiry, now, principal.session),
                   revoked=changed)
