"""The durable work queue: actions, verifications and follow-ups (HPA reverts).

At most once: a job is claimed under a lease and set `running`. A job whose
worker died while it ran is never run again blindly (its action may have
happened); `recover_expired` records it as failed instead. Only errors an
action reports as transient are retried, by the worker that saw them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from remediator.store.tables import jobs

ACTION = "action"
VERIFY = "verify"
FOLLOWUP = "followup"

QUEUED = "queued"
RUNNING = "running"
DONE = "done"


Leases = Callable[[list["Job"]], Mapping[int, datetime]]
"""Lease ends chosen for some of the jobs being claimed, by job id."""

Lease = timedelta | Callable[["Job"], timedelta]
"""How long a claimed job is leased: one length, or each job's own (its timeout)."""

# Built once: building a Core statement and its cache key costs ~60 us, several
# times what SQLite takes to run it, and every action runs these (issue 11). The
# other store modules keep their hot statements the same way.
_DUE = (select(jobs).where(jobs.c.state == QUEUED, jobs.c.run_at <= bindparam("now"))
        .order_by(jobs.c.run_at, jobs.c.id).limit(bindparam("limit")))
_DUE_SKIP_LOCKED = _DUE.with_for_update(skip_locked=True)
_LEASE = (update(jobs).where(jobs.c.id == bindparam("job_id"))
          .values(state=RUNNING, lease_owner=bindparam("owner"),
                  lease_expires=bindparam("until"), attempts=jobs.c.attempts + 1))
_FINISH = (update(jobs).where(jobs.c.id == bindparam("job_id"))
           .values(state=DONE, lease_owner=None, lease_expires=None))
_INSERT = insert(jobs)


@dataclass(frozen=True, kw_only=True)
class Job:
    id: int
    kind: str
    remediation_id: str
    attempts: int
    payload: Mapping[str, Any]


def enqueue(connection: Connection, *, kind: str, remediation_id: str, run_at: datetime,
            payload: Mapping[str, Any] | None = None) -> None:
    connection.execute(_INSERT, {
        "kind": kind, "remediation_id": remediation_id, "state": QUEUED, "run_at": run_at,
        "attempts": 0, "payload": dict(payload or {})})


def enqueue_many(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(_INSERT, [{"state": QUEUED, "attempts": 0, **row} for row in rows])


def claim(connection: Connection, *, owner: str, now: datetime, limit: int,
          lease: Lease, leases: Leases | None = None) -> list[Job]:
    """Take up to `limit` due jobs for `owner` (inside a serialised transaction).

    Each is leased for `lease` (or `lease(job)`), or until the time `leases` gives it: an
    action is leased for its own timeout in the same statement, not stretched
    by a second one.
    """
    if limit <= 0:
        return []
    due = _DUE_SKIP_LOCKED if connection.dialect.name == "postgresql" else _DUE
    rows = connection.execute(due, {"now": now, "limit": limit}).all()
    if not rows:
        return []
    claimed = [Job(id=row.id, kind=row.kind, remediation_id=row.remediation_id,
                   attempts=row.attempts + 1, payload=row.payload) for row in rows]
    until = leases(claimed) if leases is not None else {}
    length = lease if callable(lease) else (lambda job: lease)
    connection.execute(_LEASE, [
        {"job_id": job.id, "owner": owner, "until": until.get(job.id, now + length(job))}
        for job in claimed])
    return claimed


def finish(connection: Connection, job_id: int) -> None:
    connection.execute(_FINISH, {"job_id": job_id})


def retry_at(connection: Connection, job_id: int, run_at: datetime) -> None:
    connection.execute(update(jobs).where(jobs.c.id == job_id).values(
        state=QUEUED, run_at=run_at, lease_owner=None, lease_expires=None))


def set_payload(connection: Connection, job_id: int, payload: Mapping[str, Any]) -> None:
    """Replace a job's payload: what its next attempt must know (what the first one saw)."""
    connection.execute(update(jobs).where(jobs.c.id == job_id).values(payload=dict(payload)))


def expired(connection: Connection, now: datetime, *, owner_prefix: str | None = None,
            current_owner: str | None = None) -> list[Job]:
    """Jobs still `running` after their lease: their worker is gone.

    With `owner_prefix`, also the running jobs leased by a previous run of
    this instance (same prefix): at start they are known lost at once,
    without waiting for the lease to expire.
    """
    lost = jobs.c.lease_expires < now
    if owner_prefix is not None:
        previous_run = jobs.c.lease_owner.startswith(owner_prefix, autoescape=True)
        if current_owner is not None:
            previous_run = and_(previous_run, jobs.c.lease_owner != current_owner)
        lost = or_(lost, previous_run)
    rows = connection.execute(select(jobs).where(jobs.c.state == RUNNING, lost)).all()
    return [Job(id=row.id, kind=row.kind, remediation_id=row.remediation_id,
                attempts=row.attempts, payload=row.payload) for row in rows]


def depth(connection: Connection) -> dict[str, int]:
    rows = connection.execute(select(jobs.c.kind, func.count()).where(
        jobs.c.state == QUEUED).group_by(jobs.c.kind)).all()
    return {kind: int(n) for kind, n in rows}


def purge_done_before(connection: Connection, cutoff: datetime) -> int:
    """Retention: finished jobs older than `cutoff` (queued and running ones stay)."""
    result = connection.execute(delete(jobs).where(jobs.c.state == DONE,
                                                   jobs.c.run_at < cutoff))
    return int(result.rowcount or 0)
