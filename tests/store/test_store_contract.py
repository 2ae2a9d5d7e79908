"""The store contract, run on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.outcomes import Outcome
from remediator.store import Database, jobs, remediations
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.tables import audit as audit_table
from remediator.store.tables import jobs as jobs_table
from tests.store.conftest import make_intake
from tests.support.payloads import alert, crashloop


def firing(data: dict[str, object]) -> Alert:
    return Alert.model_validate(data)


def test_two_replicas_on_one_database_act_once(database: Database, database_url: str,
                                               rules_dir: Path, clock: FakeClock) -> None:
    second_db = Database(database_url)
    try:
        replicas = [make_intake(database, rules_dir, clock),
                    make_intake(second_db, rules_dir, clock)]
        results: list[str] = []

        def deliver(replica: Intake) -> None:
            for _ in range(5):
                summary = replica.receive([firing(crashloop())], group_key="g")[0]
                results.append(summary["outcome"])

        threads = [threading.Thread(target=deliver, args=(r,)) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        second_db.dispose()
    assert sorted(results) == ["duplicate"] * 9 + ["executed"]
    with database.reading() as connection:
        assert len(connection.execute(select(jobs_table)).all()) == 1


def test_every_decision_is_audited_with_what_on_call_needs(intake: Intake,
                                                           database: Database) -> None:
    summaries = intake.receive([firing(crashloop())], group_key="group-1")
    with database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery())
    entry = items[0]
    assert entry["outcome"] == "executed"
    assert entry["remediation_id"] == summaries[0]["remediation_id"]
    assert (entry["alertname"], entry["rule"], entry["action"], entry["target"]) == (
        "KubePodCrashLooping", "restart-pod", "kubernetes.delete_pod", "pod/apps-a/web-1")
    assert entry["runbook_url"] == "https://runbooks.example.org/runbooks/KubePodCrashLooping.md"
    assert entry["group_key"] == "group-1"
    assert entry["labels"]["pod"] == "web-1"
    assert entry["fingerprint"] == summaries[0]["fingerprint"]


def test_rate_limits_count_across_deliveries(intake: Intake, clock: FakeClock) -> None:
    outcomes = []
    for index in range(7):
        clock.advance(minutes=1)
        outcomes += [d["outcome"] for d in intake.receive(
            [firing(crashloop(pod=f"p{index}"))], group_key="g")]
    assert outcomes == ["executed"] * 5 + ["rate_limited"] * 2


def test_cooldown_is_per_target_across_episodes(intake: Intake, clock: FakeClock) -> None:
    first = crashloop()
    intake.receive([firing(first)], group_key="g")
    clock.advance(minutes=4)
    second = crashloop(starts_at=clock.now)
    assert intake.receive([firing(second)], group_key="g")[0]["outcome"] == "cooldown"
    clock.advance(minutes=7)
    third = crashloop(starts_at=clock.now)
    assert intake.receive([firing(third)], group_key="g")[0]["outcome"] == "executed"


def test_resolved_closes_the_remediation_and_queues_its_followups(
        intake: Intake, database: Database) -> None:
    hpa = alert("HpaMaxedOut", namespace="apps-a", hpa="web")
    rid = intake.receive([firing(hpa)], group_key="g")[0]["remediation_id"]
    revert = {"type": "kubernetes.hpa_revert", "kind": "hpa", "name": "web",
              "namespace": "apps-a", "params": {"min_replicas": 1}, "timeout": 30.0}
    with database.writing() as connection:
        connection.execute(update(remediations.remediations).where(
            remediations.remediations.c.id == rid).values(followups=[revert]))
    resolved = {**hpa, "status": "resolved"}
    summary = intake.receive([firing(resolved)], group_key="g")[0]
    assert summary["outcome"] == "resolved"
    assert summary["remediation_ids"] == [rid]
    with database.reading() as connection:
        kinds = [row.kind for row in connection.execute(select(jobs_table))]
        assert remediations.get(connection, rid).resolved_at is not None  # type: ignore[union-attr]
    assert sorted(kinds) == ["action", "followup"]


def test_audit_chain_verifies_and_detects_tampering(intake: Intake, database: Database) -> None:
    for index in range(5):
        intake.receive([firing(crashloop(pod=f"p{index}"))], group_key="g")
    with database.reading() as connection:
        assert audit.verify_chain(connection).checked == 5
    with database.writing() as connection:
        connection.execute(update(audit_table).where(audit_table.c.id == 3)
                           .values(reason="nothing to see"))
    with database.reading() as connection:
        report = audit.verify_chain(connection)
    assert (report.ok, report.first_bad_id, report.checked) == (False, 3, 2)


def test_audit_pages_newest_first_with_a_cursor(intake: Intake, database: Database) -> None:
    for index in range(5):
        intake.receive([firing(crashloop(pod=f"p{index}"))], group_key="g")
    pages, cursor = [], None
    with database.reading() as connection:
        while True:
            items, cursor = audit.query(connection, AuditQuery(limit=2, cursor=cursor))
            pages.append([item["target"] for item in items])
            if cursor is None:
                break
    assert pages == [["pod/apps-a/p4", "pod/apps-a/p3"], ["pod/apps-a/p2", "pod/apps-a/p1"],
                     ["pod/apps-a/p0"]]


def test_audit_filters(intake: Intake, database: Database, clock: FakeClock) -> None:
    intake.receive([firing(crashloop(pod="old"))], group_key="g")
    clock.advance(hours=2)
    intake.receive([firing(alert("Unrelated")), firing(crashloop(pod="new",
                                                                 namespace="apps-b"))],
                   group_key="g")
    with database.reading() as connection:
        def targets(**kwargs: object) -> list[str]:
            items, _ = audit.query(connection, AuditQuery(**kwargs))  # type: ignore[arg-type]
            return [i["target"] or i["outcome"] for i in items]

        assert targets(outcome="no_match") == ["no_match"]
        assert targets(namespace="apps-b") == ["pod/apps-b/new"]
        assert targets(rule="restart-pod", since=clock.now - timedelta(hours=1)) == [
            "pod/apps-b/new"]
        assert targets(until=clock.now - timedelta(hours=1)) == ["pod/apps-a/old"]


def test_jobs_are_claimed_once_and_lost_actions_are_not_rerun(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    intake.receive([firing(crashloop())], group_key="g")
    with database.writing() as connection:
        first = jobs.claim(connection, owner="a", now=clock.now, limit=10,
                           lease=timedelta(minutes=1))
        second = jobs.claim(connection, owner="b", now=clock.now, limit=10,
                            lease=timedelta(minutes=1))
    assert (len(first), len(second)) == (1, 0)
    clock.advance(minutes=2)
    with database.reading() as connection:
        lost = jobs.expired(connection, clock.now)
    assert [job.id for job in lost] == [first[0].id]


def test_retention_keeps_the_rest_of_the_chain_verifiable(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    intake.receive([firing(crashloop(pod="a"))], group_key="g")
    clock.advance(days=2)
    intake.receive([firing(crashloop(pod="b"))], group_key="g")
    with database.writing() as connection:
        assert audit.purge_before(connection, clock.now - timedelta(days=1)) == 1
    with database.reading() as connection:
        report = audit.verify_chain(connection)
    assert (report.ok, report.checked) == (True, 1)


def test_rejected_deliveries_are_audited(intake: Intake, database: Database) -> None:
    intake.reject(reason="invalid bearer token", detail={"status": 401})
    with database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery(outcome=Outcome.REJECTED.value))
    assert items[0]["reason"] == "invalid bearer token"


def test_retention_drops_finished_jobs_and_resolved_alerts_only(
        intake: Intake, database: Database, clock: FakeClock) -> None:
    from remediator.store import recorder
    from remediator.store.tables import alerts as alerts_table

    intake.receive([firing(crashloop(pod="done"))], group_key="g")
    intake.receive([firing(crashloop(pod="done", status="resolved"))], group_key="g")
    intake.receive([firing(crashloop(pod="still"))], group_key="g")
    with database.writing() as connection:
        claimed = jobs.claim(connection, owner="w", now=clock.now, limit=1,
                             lease=timedelta(minutes=1))
        jobs.finish(connection, claimed[0])
    clock.advance(days=2)
    with database.writing() as connection:
        assert jobs.purge_done_before(connection, clock.now - timedelta(days=1)) == 1
        assert recorder.forget_resolved_alerts(connection, clock.now - timedelta(days=1)) == 1
    with database.reading() as connection:
        assert [row.state for row in connection.execute(select(jobs_table))] == ["queued"]
        left = [row.labels["pod"] for row in connection.execute(select(alerts_table))]
    assert left == ["still"]
