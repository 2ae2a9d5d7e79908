"""Job leases across replicas (issue 20, item 6), on SQLite and a real PostgreSQL.

Recovery takes only expired leases, never by owner name; a live worker
renews its leases; and every write of a job's result is fenced by the lease
it was made under, so a worker that stalled past its lease changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from remediator.execute.worker import owner_id
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.outcomes import Outcome
from remediator.store import Database, jobs, remediations
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.jobs import Job
from remediator.store.remediations import Remediation
from remediator.store.service import Settled, Store
from remediator.store.tables import jobs as jobs_table
from tests.support.payloads import crashloop

LEASE = timedelta(minutes=1)


def _running(intake: Intake, database: Database, clock: FakeClock,
             owner: str) -> tuple[Job, Remediation]:
    """An executed decision whose action job `owner` has claimed and is running."""
    [summary] = intake.receive([Alert.model_validate(crashloop())], group_key="g")
    [job] = Store(database).claim(owner=owner, now=clock.now, limit=1, lease=LEASE)
    with database.reading() as connection:
        remediation = remediations.get(connection, str(summary["remediation_id"]))
    assert remediation is not None
    return job, remediation


def _history(database: Database) -> list[str]:
    with database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery(limit=100))
    return [item["outcome"] for item in reversed(items)]


def _job_row(database: Database, job: Job) -> tuple[str, str | None, int]:
    with database.reading() as connection:
        row = connection.execute(select(jobs_table.c.state, jobs_table.c.lease_owner,
                                        jobs_table.c.attempts)
                                 .where(jobs_table.c.id == job.id)).one()
    return row.state, row.lease_owner, row.attempts


def test_owner_ids_are_unique_and_never_a_prefix_of_one_another() -> None:
    ids = {owner_id("node") for _ in range(50)} | {owner_id("node-2")}
    assert len(ids) == 51
    assert all(len(owner) <= 64 for owner in ids | {owner_id("h" * 200)})  # the column


def test_recovery_leaves_a_live_lease_alone_whatever_its_owner_is_called(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    """A restarted replica on host `node` took live `node-2`'s job by name prefix."""
    live, _ = _running(intake, database, clock, owner_id("node-2"))
    assert Store(database).recover_expired(clock.now) == 0
    assert _job_row(database, live) == ("running", live.owner, 1)
    assert _history(database) == ["executed"]


def test_a_result_written_after_the_lease_was_taken_over_changes_nothing(
        intake: Intake, database: Database, clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    stalled, remediation = _running(intake, database, clock, owner_id("node"))
    clock.advance(LEASE * 2)
    store = Store(database)
    assert store.recover_expired(clock.now) == 1  # recorded as interrupted
    before = (_history(database), _job_row(database, stalled))
    with caplog.at_level(logging.WARNING, logger="remediator.store.service"):
        store.settle_action(stalled, remediation, Settled(
            outcome=Outcome.SUCCEEDED, reason="deleted"), now=clock.now)
        store.retry_action(stalled, remediation, run_at=clock.now, now=clock.now,
                           reason="transient", duration_ms=1.0, detail={})
        store.finish(stalled)
    assert (_history(database), _job_row(database, stalled)) == before
    assert before[0] == ["executed", "failed"]
    with database.reading() as connection:
        state = remediations.get(connection, remediation.id)
    assert state is not None and state.state == "failed"
    assert caplog.text.count("result not written") == 3


def test_a_later_attempt_fences_out_the_earlier_one(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    """Same owner, next attempt: only the attempt that holds the lease writes."""
    intake.receive([Alert.model_validate(crashloop())], group_key="g")
    store = Store(database)
    owner = owner_id("node")
    [first] = store.claim(owner=owner, now=clock.now, limit=1, lease=LEASE)
    store.retry(first, clock.now)  # a transient failure: queued again
    [second] = store.claim(owner=owner, now=clock.now, limit=1, lease=LEASE)
    assert (first.id, second.attempts) == (second.id, 2)
    with database.writing() as connection, pytest.raises(jobs.FencedOut):
        jobs.finish(connection, first)
    store.finish(second)
    assert _job_row(database, second) == ("done", None, 2)


def test_renewed_leases_are_not_recovered_and_lost_ones_are_reported(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    job, _ = _running(intake, database, clock, owner_id("node"))
    store = Store(database)
    clock.advance(LEASE / 2)
    assert store.renew([job], until=clock.now + LEASE) == []
    clock.advance(LEASE)  # past the first lease, within the renewed one
    assert store.recover_expired(clock.now) == 0
    assert store.renew([job], until=clock.now - LEASE) == []  # never shortened
    clock.advance(LEASE * 2)
    assert store.recover_expired(clock.now) == 1
    assert store.renew([job], until=clock.now + LEASE) == [job]
