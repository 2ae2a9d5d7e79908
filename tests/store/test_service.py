"""The store facade's own operations, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.store import Database, jobs
from remediator.store.service import Store
from remediator.store.tables import jobs as jobs_table
from remediator.store.tables import remediations as remediations_table
from tests.support.payloads import crashloop


def receive(intake: Intake, **kwargs: str) -> None:
    intake.receive([Alert.model_validate(crashloop(**kwargs))], group_key="g")


def test_retention_purges_closed_remediations_and_keeps_open_ones(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    store = Store(database)
    receive(intake, pod="closed")
    receive(intake, pod="closed", status="resolved")
    receive(intake, pod="open")
    receive(intake, pod="busy")
    receive(intake, pod="busy", status="resolved")
    store.claim(owner="w", now=clock.now, limit=10, lease=timedelta(minutes=1))
    with database.reading() as connection:
        ids = dict(connection.execute(select(remediations_table.c.target,
                                             remediations_table.c.id)).all())
    with database.writing() as connection:
        # Every job is done except the busy remediation's, which still runs.
        for job in jobs.expired(connection, clock.now + timedelta(hours=1)):
            if job.remediation_id != ids["pod/apps-a/busy"]:
                jobs.finish(connection, job)
    clock.advance(days=2)
    removed = store.purge(clock.now - timedelta(days=1))
    assert removed["remediations"] == 1
    with database.reading() as connection:
        left = connection.execute(select(remediations_table.c.target)).scalars().all()
    assert sorted(left) == ["pod/apps-a/busy", "pod/apps-a/open"]


def test_status_says_truthfully_what_is_a_dry_run(database: Database, clock: FakeClock) -> None:
    """Issue 7, bug 3: status said `dry_run: false` while every action was one."""
    from remediator.model.policy import Policy
    from remediator.operate.operations import status
    from remediator.store.operating import OperatorStore

    store = OperatorStore(database)
    no_cluster = Policy(executable=frozenset({"ansible.playbook"}))
    assert status(store, no_cluster, clock.now)["dry_run"] == {
        "global": False, "capabilities_missing": ["kubernetes"], "all": False}
    nothing = status(store, Policy(executable=frozenset()), clock.now)["dry_run"]
    assert nothing == {"global": False, "capabilities_missing": ["kubernetes", "ansible"],
                       "all": True}
    assert status(store, Policy(dry_run=True), clock.now)["dry_run"]["global"] is True


def test_claiming_actions_loads_and_starts_them_in_one_transaction(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    """Claim, load and start took a commit (an fsync) each, per action."""
    from sqlalchemy import event

    store = Store(database)
    for pod in ("web-1", "web-2", "web-3"):
        receive(intake, pod=pod)
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(database.writer, "commit", committed)
    asked: list[object] = []

    def blocked(state: object) -> None:
        asked.append(state)

    until = clock.now + timedelta(minutes=9)
    claimed = store.claim_to_run(owner="w", now=clock.now, limit=10,
                                 lease=timedelta(minutes=1), blocked=blocked,
                                 action_lease=lambda remediation: until)
    event.remove(database.writer, "commit", committed)

    assert len(commits) == 1
    assert sorted(r.request.name for _, r in claimed if r is not None) == [
        "web-1", "web-2", "web-3"]
    assert len(asked) == 3  # each action was asked whether pause or the breaker stops it
    with database.reading() as connection:
        leases = connection.execute(select(jobs_table.c.lease_expires)).scalars().all()
    assert leases == [until] * 3  # stretched to the action's own timeout, same transaction
