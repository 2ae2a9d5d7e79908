"""The pre-flight reuses a read of related alerts only while it is current.

A storm's actions in one namespace ask the same question; the answer is
reused until this process commits alerts (then at once) or, for writes it
cannot see (another replica's), for at most `RELATED_REUSE_SECONDS`.
On SQLite and a real PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from remediator.actions.registry import ActionRegistry
from remediator.diagnosis import Hint
from remediator.execute.preflight import RELATED_REUSE_SECONDS, Preflight
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.store import Database, changes, jobs, recorder, remediations
from remediator.store.jobs import Job
from remediator.store.preflight_store import PreflightStore
from tests.support.payloads import crashloop


def fire(intake: Intake, pod: str) -> str:
    [summary] = intake.receive([Alert.model_validate(crashloop(pod, "shop"))],
                               group_key="g")
    return str(summary["remediation_id"])


async def co_firing(preflight: Preflight, database: Database, remediation_id: str) -> Hint:
    with database.reading() as connection:
        remediation = remediations.get(connection, remediation_id)
    assert remediation is not None
    job = Job(id=0, kind=jobs.ACTION, remediation_id=remediation.id, attempts=1, payload={})
    prepared = await preflight.prepare(job, remediation, remediation.request)
    [hint] = [h for h in prepared.hints if h.name == "co_firing"]
    return hint


@pytest.fixture
def preflight(database: Database, clock: FakeClock) -> Preflight:
    return Preflight(store=PreflightStore(database), actions=ActionRegistry(), rules=lambda _: None,
                     clock=clock)


async def two_firing(preflight: Preflight, database: Database, intake: Intake) -> str:
    """Two alerts firing in one namespace; the first's pre-flight has read (and kept)
    one other; returns the first's remediation id."""
    first = fire(intake, "web-1")
    fire(intake, "web-2")
    assert (await co_firing(preflight, database, first)).facts["count"] == 1
    return first


async def test_a_read_is_reused_until_this_process_writes_alerts(
        database: Database, intake: Intake, preflight: Preflight) -> None:
    first = await two_firing(preflight, database, intake)

    fire(intake, "web-3")  # committed by this process: the next read sees it at once

    hint = await co_firing(preflight, database, first)
    assert hint.facts["count"] == 2
    assert hint.facts["alerts"] == ["KubePodCrashLooping{namespace=shop, pod=web-2, "
                                    "deployment=web}",
                                    "KubePodCrashLooping{namespace=shop, pod=web-3, "
                                    "deployment=web}"]


async def test_writes_this_process_cannot_see_are_read_after_the_reuse_bound(
        database: Database, intake: Intake, preflight: Preflight, clock: FakeClock) -> None:
    first = await two_firing(preflight, database, intake)

    # Another replica's write: its own transaction, which this process's counts never see.
    with database.writer.begin() as connection:
        recorder.remember_alerts(connection, [Alert.model_validate(crashloop("web-3", "shop"))],
                                 clock())
    assert (await co_firing(preflight, database, first)).facts["count"] == 1

    clock.advance(timedelta(seconds=RELATED_REUSE_SECONDS))
    assert (await co_firing(preflight, database, first)).facts["count"] == 2


def test_the_alerts_count_moves_when_alerts_commit_and_not_otherwise(
        database: Database, clock: FakeClock) -> None:
    alert = Alert.model_validate(crashloop("web-1", "shop"))
    before = database.changes.count(changes.ALERTS)

    try:
        with database.writing() as connection:
            recorder.remember_alerts(connection, [alert], clock())
            assert database.changes.count(changes.ALERTS) == before  # not before the commit
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert database.changes.count(changes.ALERTS) == before

    with database.writing() as connection:
        recorder.remember_alerts(connection, [], clock())  # nothing written
    assert database.changes.count(changes.ALERTS) == before

    with database.writing() as connection:
        recorder.remember_alerts(connection, [alert], clock())
    assert database.changes.count(changes.ALERTS) == before + 1
