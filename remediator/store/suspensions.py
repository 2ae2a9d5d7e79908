"""Flux Kustomizations suspended while a proposal is open: their queued resumes.

`suspend_while_proposed` queues the resume as a timed follow-up job (at
`GITOPS_SUSPEND_TIMEOUT`); its request names the pull request (`pr_url`).
The pull-request watch (app/prwatch.py) lists those jobs and, once the pull
request is merged or declined, moves the same job to now with the reason:
one job, so the Kustomization is resumed once, by the worker, audited like
the timeout's resume, and nothing is left to resume at the timeout. The move
only touches a job still queued and not yet due, so two replicas doing it
at once change nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from remediator.evidence.ownership import GITOPS_SUSPEND_ACTION
from remediator.store.database import Database
from remediator.store.jobs import FOLLOWUP, QUEUED
from remediator.store.tables import jobs

_LIMIT = 500


@dataclass(frozen=True)
class PendingResume:
    """A queued resume of a suspended Kustomization, and the pull request it waits for."""

    job_id: int
    remediation_id: str
    pr_url: str
    kustomization: str


def pending_resumes(database: Database, *, now: datetime) -> list[PendingResume]:
    """Resumes still waiting for their time whose request names a pull request."""
    query = (select(jobs.c.id, jobs.c.remediation_id, jobs.c.payload)
             .where(jobs.c.kind == FOLLOWUP, jobs.c.state == QUEUED, jobs.c.run_at > now)
             .order_by(jobs.c.id).limit(_LIMIT))
    with database.reading() as connection:
        rows = connection.execute(query).all()
    found = []
    for row in rows:
        request: Any = (row.payload or {}).get("request") or {}
        params = request.get("params") or {}
        if (request.get("type") != GITOPS_SUSPEND_ACTION or params.get("suspend") is not False
                or not isinstance(params.get("pr_url"), str)):
            continue
        found.append(PendingResume(job_id=row.id, remediation_id=row.remediation_id,
                                   pr_url=params["pr_url"],
                                   kustomization=f"{request.get('namespace')}/"
                                                 f"{request.get('name')}"))
    return found


def resume_now(database: Database, pending: PendingResume, *, now: datetime,
               reason: str) -> bool:
    """Make the resume due now, noting why; False when it already ran or is due."""
    with database.writing() as connection:
        payload = connection.execute(select(jobs.c.payload).where(
            jobs.c.id == pending.job_id)).scalar_one_or_none()
        if payload is None:
            return False
        moved = (update(jobs).where(jobs.c.id == pending.job_id, jobs.c.state == QUEUED,
                                    jobs.c.run_at > now)
                 .values(run_at=now, payload={**payload, "reason": reason}))
        return connection.execute(moved).rowcount == 1
