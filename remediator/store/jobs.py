"""The durable work queue: actions, verifications and follow-ups (HPA reverts).

At most once: a job is claimed under a lease and set `running`. A job whose
worker died while it ran is never run again blindly (its action may have
happened); `recover_expired` records it as failed instead. Only errors an
action reports as transient are retried, by the worker that saw them.

Fencing: a lease is held by one process (`Job.owner`, unique per process)
for one attempt (`Job.attempts`). The worker renews its leases while its
jobs run (`renew`); only a lease that expired is taken over. Every write of
a job's result (`finish`, `retry_at`) says which lease it was made under and
changes nothing when that lease is gone (`FencedOut`): a worker that stalled
past its lease cannot overwrite what recovery, or a later attempt, wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, update

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
_HELD = and_(jobs.c.id == bindparam("job_id"), jobs.c.state == RUNNING,
             jobs.c.lease_owner == bindparam("owner"),
             jobs.c.attempts == bindparam("attempt"))
"""The lease a result was made under is still the job's: same owner, same attempt."""
_FINISH = update(jobs).where(_HELD).values(state=DONE, lease_owner=None, lease_expires=None)
_REQUEUE = update(jobs).where(_HELD).values(state=QUEUED, run_at=bindparam("run_at"),
                                            lease_owner=None, lease_expires=None)
_RENEW = update(jobs).where(_HELD).values(lease_expires=case(
    (jobs.c.lease_expires < bindparam("until"), bindparam("until")),
    else_=jobs.c.lease_expires))
"""Renewal only ever lengthens a lease (an action's runs to its own timeout)."""
_INSERT = insert(jobs)


class FencedOut(Exception):
    """A job's result from a lease that is gone (expired and recovered, or re-claimed):
    nothing of the transaction that tried to write it may commit."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} ({job.kind}, attempt {job.attempts}) is no longer "
                         f"leased to {job.owner}")
        self.job = job


@dataclass(frozen=True, kw_only=True)
class Job:
    id: int
    kind: str
    remediation_id: str
    attempts: int
    payload: Mapping[str, Any]
    owner: str = ""
    """Who holds the lease of this attempt (a worker's unique id)."""


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
                   attempts=row.attempts + 1, payload=row.payload, owner=owner)
               for row in rows]
    until = leases(claimed) if leases is not None else {}
    length = lease if callable(lease) else (lambda job: lease)
    connection.execute(_LEASE, [
        {"job_id": job.id, "owner": owner, "until": until.get(job.id, now + length(job))}
        for job in claimed])
    return claimed


def finish(connection: Connection, job: Job) -> None:
    """The job is done, if `job`'s lease still holds; else `FencedOut`."""
    _fenced(connection, _FINISH, job, {})


def retry_at(connection: Connection, job: Job, run_at: datetime) -> None:
    """Queue the job again for `run_at`, if `job`'s lease still holds; else `FencedOut`."""
    _fenced(connection, _REQUEUE, job, {"run_at": run_at})


def set_payload(connection: Connection, job_id: int, payload: Mapping[str, Any]) -> None:
    """Replace a job's payload: what its next attempt must know (what the first one saw)."""
    connection.execute(update(jobs).where(jobs.c.id == job_id).values(payload=dict(payload)))


def _fenced(connection: Connection, statement: Any, job: Job, values: dict[str, Any]) -> None:
    result = connection.execute(statement, {"job_id": job.id, "owner": job.owner,
                                            "attempt": job.attempts, **values})
    if result.rowcount != 1:
        raise FencedOut(job)


def renew(connection: Connection, held: list[Job], until: datetime) -> list[Job]:
    """Lengthen the leases of `held` to `until`; return the ones no longer held."""
    lost = []
    for job in held:
        result = connection.execute(_RENEW, {"job_id": job.id, "owner": job.owner,
                                             "attempt": job.attempts, "until": until})
        if result.rowcount != 1:
            lost.append(job)
    return lost


def expired(connection: Connection, now: datetime) -> list[Job]:
    """Jobs still `running` after their lease: their worker is gone (or stalled so
    long that its lease ran out). Never chosen by owner name: a live worker renews
    its leases, so only an expired lease says its worker is not coming back."""
    rows = connection.execute(select(jobs).where(jobs.c.state == RUNNING,
                                                 jobs.c.lease_expires < now)).all()
    return [Job(id=row.id, kind=row.kind, remediation_id=row.remediation_id,
                attempts=row.attempts, payload=row.payload, owner=row.lease_owner or "")
            for row in rows]


def depth(connection: Connection) -> dict[str, int]:
    rows = connection.execute(select(jobs.c.kind, func.count()).where(
        jobs.c.state == QUEUED).group_by(jobs.c.kind)).all()
    return {kind: int(n) for kind, n in rows}


def purge_done_before(connection: Connection, cutoff: datetime) -> int:
    """Retention: finished jobs older than `cutoff` (queued and running ones stay)."""
    result = connection.execute(delete(jobs).where(jobs.c.state == DONE,
                                                   jobs.c.run_at < cutoff))
    return int(result.rowcount or 0)
