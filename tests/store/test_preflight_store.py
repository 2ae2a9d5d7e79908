"""The pre-flight's side of the store facade, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.store import Database, remediations
from remediator.store import evidence as evidence_store
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.jobs import Job
from remediator.store.preflight_store import PreflightStore
from remediator.store.remediations import Remediation
from remediator.store.service import Store
from remediator.store.tables import jobs as jobs_table
from remediator.store.tables import remediations as remediations_table
from tests.support.payloads import crashloop

HINTS = [{"name": "co_firing", "explanation": "2 alerts fire in apps-a"}]


def _claimed(intake: Intake, database: Database, clock: FakeClock) -> tuple[Job, Remediation]:
    [summary] = intake.receive([Alert.model_validate(crashloop(pod="web-1"))], group_key="g")
    [job] = Store(database).claim(owner="w", now=clock.now, limit=1,
                                  lease=timedelta(minutes=5))
    with database.reading() as connection:
        remediation = remediations.get(connection, summary["remediation_id"])
    assert remediation is not None
    return job, remediation


def _phases(database: Database, remediation_id: str) -> list[str]:
    with database.reading() as connection:
        return [e["phase"] for e in evidence_store.for_remediation(connection, remediation_id)]


def test_evidence_before_an_allowed_action_leaves_the_job_running(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    job, remediation = _claimed(intake, database, clock)
    PreflightStore(database).record_preflight(job, remediation, now=clock.now,
                                              document={"target": "pod"}, hints=HINTS,
                                              refused=None)
    assert _phases(database, remediation.id) == [evidence_store.BEFORE]
    with database.reading() as connection:
        assert connection.execute(select(jobs_table.c.state)).scalar() == "running"


def test_a_refused_action_is_recorded_with_its_evidence_in_one_commit(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    job, remediation = _claimed(intake, database, clock)
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(database.writer, "commit", committed)
    try:
        PreflightStore(database).record_preflight(
            job, remediation, now=clock.now, document=None, hints=HINTS,
            refused=("not run: unless.hints: co_firing applies", {"precondition": "x"}))
    finally:
        event.remove(database.writer, "commit", committed)
    assert len(commits) == 1
    assert _phases(database, remediation.id) == [evidence_store.BEFORE]
    with database.reading() as connection:
        assert connection.execute(select(jobs_table.c.state)).scalar() == "done"
        key, state = connection.execute(select(remediations_table.c.key,
                                               remediations_table.c.state)).one()
        items, _ = audit.query(connection, AuditQuery(outcome="precondition_failed"))
    assert "#cancelled:" in key and state == "precondition_failed"  # the key is given back
    assert [(i["reason"], i["detail"]) for i in items] == [
        ("not run: unless.hints: co_firing applies", {"precondition": "x"})]


def test_nothing_to_keep_writes_no_evidence(intake: Intake, database: Database,
                                            clock: FakeClock) -> None:
    job, remediation = _claimed(intake, database, clock)
    PreflightStore(database).record_preflight(job, remediation, now=clock.now, document=None,
                                              hints=[], refused=None)
    assert _phases(database, remediation.id) == []


def test_failure_evidence_and_the_related_firing_alerts(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    store = PreflightStore(database)
    before = store.alerts_version()
    _, remediation = _claimed(intake, database, clock)
    assert store.alerts_version() > before  # a related read from before is stale now
    store.save_failure_evidence(remediation.id, at=clock.now, document={"after": True},
                                hints=HINTS)
    assert _phases(database, remediation.id) == [evidence_store.FAILURE]
    rows, capped = store.firing_alerts(node=None, namespace="apps-a", services=())
    assert [r["labels"]["pod"] for r in rows] == ["web-1"] and not capped
