"""Claim -> run -> record: every action result, retries, timeouts, verification,
escalation, follow-ups and recovery after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from remediator.model.actions import ActionError, ActionRequest, ActionResult, TargetGone
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.store import jobs
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.tables import jobs as jobs_table
from tests.support.payloads import crashloop
from tests.worker.conftest import Rig


def history(rig: Rig) -> list[str]:
    with rig.database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery(limit=1000))
    return [item["outcome"] for item in reversed(items)]


def fire(rig: Rig, **kwargs: str) -> str:
    summary = rig.intake.receive([Alert.model_validate(crashloop(**kwargs))], group_key="g")[0]
    assert summary["outcome"] == "executed"
    remediation_id: str = summary["remediation_id"]
    return remediation_id


async def settle(rig: Rig, *, after: timedelta = timedelta(0)) -> None:
    rig.clock.advance(after)
    await rig.worker.drain()


@pytest.mark.parametrize(("script", "expected"), [
    pytest.param([ActionResult(message="ok")], ["executed", "succeeded"], id="succeeded"),
    pytest.param([TargetGone("pod gone")], ["executed", "target_gone"], id="target-gone"),
    pytest.param([ActionError("forbidden: grant 'delete' on 'pods'")], ["executed", "failed"],
                 id="permanent-failure"),
    pytest.param([RuntimeError("bug in action")], ["executed", "failed"], id="action-crash"),
])
async def test_action_results_are_recorded(rig: Rig, script: list[object],
                                           expected: list[str]) -> None:
    rig.delete.script = script  # type: ignore[assignment]
    fire(rig)
    await settle(rig)
    assert history(rig) == expected
    assert len(rig.delete.calls) == 1


async def test_failed_result_keeps_the_error(rig: Rig) -> None:
    rig.delete.script = [ActionError("forbidden: grant 'delete' on 'pods' in 'apps-a'")]
    fire(rig)
    await settle(rig)
    with rig.database.reading() as connection:
        entry = audit.query(connection, AuditQuery(outcome="failed"))[0][0]
    assert "grant 'delete'" in entry["reason"]
    assert entry["duration_ms"] is not None


async def test_transient_errors_are_retried_with_backoff(rig: Rig) -> None:
    rig.delete.script = [ActionError("HTTP 503", transient=True),
                         ActionError("HTTP 409", transient=True), ActionResult(message="ok")]
    fire(rig)
    await settle(rig)
    assert len(rig.delete.calls) == 1  # the retry is not due yet
    await settle(rig, after=timedelta(seconds=2))
    await settle(rig, after=timedelta(seconds=4))
    assert len(rig.delete.calls) == 3
    assert history(rig) == ["executed", "failed", "failed", "succeeded"]


async def test_retries_are_bounded(rig: Rig) -> None:
    rig.delete.script = [ActionError("HTTP 500", transient=True)] * 5
    fire(rig)
    for _ in range(5):
        await settle(rig, after=timedelta(minutes=1))
    assert len(rig.delete.calls) == 3  # first try + retries=2
    assert history(rig)[-1] == "failed"


async def test_an_action_overrunning_its_timeout_is_cancelled_and_not_retried(
        rig: Rig) -> None:
    rig.delete.script = ["hang", ActionResult(message="ok")]
    fire(rig)
    await settle(rig)
    await settle(rig, after=timedelta(minutes=1))
    assert len(rig.delete.calls) == 1
    with rig.database.reading() as connection:
        entry = audit.query(connection, AuditQuery(outcome="failed"))[0][0]
    assert entry["reason"].startswith("timeout: no result within 1s; cancelled and not retried")


async def test_resolution_before_the_worker_runs_cancels_the_action(rig: Rig) -> None:
    fire(rig)
    rig.intake.receive([Alert.model_validate(crashloop(status="resolved"))], group_key="g")
    await settle(rig)
    assert rig.delete.calls == []
    assert history(rig) == ["executed", "resolved", "resolved"]


async def test_verified_after_the_delay(rig: Rig) -> None:
    fire(rig)
    await settle(rig)
    assert rig.verifier.asked == []
    await settle(rig, after=timedelta(minutes=5))
    assert history(rig) == ["executed", "succeeded", "verified"]
    assert rig.verifier.asked[0][0]["pod"] == "web-1"


async def test_unverified_escalates_then_exhausts(rig: Rig) -> None:
    rig.verifier.answers = [Outcome.UNVERIFIED, Outcome.UNVERIFIED]
    fire(rig)
    await settle(rig)
    await settle(rig, after=timedelta(minutes=5))
    assert [r.target for r in rig.restart.calls] == ["deployment/apps-a/web"]
    await settle(rig, after=timedelta(minutes=5))
    assert history(rig) == ["executed", "succeeded", "unverified", "executed", "succeeded",
                            "unverified", "exhausted"]
    exhausted = rig.metrics.registry.get_sample_value(
        "remediator_escalations_exhausted_total", {"rule": "restart-pod"})
    assert exhausted == 1.0


async def test_unknown_is_retried_before_it_is_recorded(rig: Rig) -> None:
    rig.verifier.answers = [Outcome.UNKNOWN] * 3
    fire(rig)
    await settle(rig)
    for _ in range(3):
        await settle(rig, after=timedelta(minutes=5))
    assert len(rig.verifier.asked) == 3
    assert history(rig)[-1] == "unknown"


async def test_followups_run_when_the_alert_resolves(rig: Rig) -> None:
    revert = ActionRequest(type="kubernetes.hpa_revert", kind="hpa", name="web",
                           namespace="apps-a", params={"min_replicas": 2})
    rig.delete.script = [ActionResult(message="raised", followups=(revert,))]
    fire(rig)
    await settle(rig)
    rig.intake.receive([Alert.model_validate(crashloop(status="resolved"))], group_key="g")
    await settle(rig)
    assert rig.restart.calls == [revert]
    assert history(rig)[-2:] == ["resolved", "succeeded"]


async def test_a_lost_worker_never_reruns_an_action(rig: Rig) -> None:
    fire(rig)
    with rig.database.writing() as connection:  # a worker claims it, then dies
        jobs.claim(connection, owner="dead", now=rig.clock.now, limit=1,
                   lease=timedelta(minutes=1))
    rig.clock.advance(minutes=2)
    assert rig.worker.recover_expired() == 1
    await settle(rig)
    assert rig.delete.calls == []
    assert history(rig) == ["executed", "failed"]


async def test_in_flight_and_duration_metrics(rig: Rig) -> None:
    fire(rig)
    await settle(rig)
    registry = rig.metrics.registry
    assert registry.get_sample_value("remediator_actions_in_flight") == 0.0
    assert registry.get_sample_value("remediator_action_duration_seconds_count",
                                     {"action": "kubernetes.delete_pod"}) == 1.0


async def test_concurrent_ticks_never_exceed_the_concurrency(rig: Rig) -> None:
    import asyncio

    rig.worker.concurrency = 2
    rig.delete.script = ["hang"] * 6
    for index in range(6):
        fire(rig, pod=f"p{index}")
    started = await asyncio.gather(*(rig.worker.tick() for _ in range(4)))
    with rig.database.reading() as connection:
        running = connection.execute(select(jobs_table).where(
            jobs_table.c.state == jobs.RUNNING)).all()
    assert (sum(started), len(running)) == (2, 2)
    await rig.worker.stop(grace=0)


async def test_a_running_action_is_leased_for_its_timeout_plus_a_margin(rig: Rig) -> None:
    rig.delete.script = ["hang"]
    fire(rig)
    await rig.worker.tick()
    await rig.delete.started.wait()
    with rig.database.reading() as connection:
        lease = connection.execute(select(jobs_table.c.lease_expires)).scalar_one()
    # The rule's timeout is 1s: a claim's 5-minute lease became timeout + 5 minutes.
    assert lease == rig.clock.now + timedelta(seconds=1, minutes=5)
    await rig.worker.stop(grace=0)


async def test_pause_stops_queued_actions_and_frees_the_alert_for_later(rig: Rig) -> None:
    from remediator.operate import operations
    from remediator.store.operating import OperatorStore

    fire(rig)
    operations.set_paused(OperatorStore(rig.database), True, "incident", rig.clock.now)
    await settle(rig)
    assert rig.delete.calls == []
    assert history(rig) == ["executed", "paused"]
    operations.set_paused(OperatorStore(rig.database), False, "over", rig.clock.now)
    rig.clock.advance(minutes=1)
    again = rig.intake.receive([Alert.model_validate(crashloop())], group_key="g")[0]
    assert again["outcome"] == "executed"  # not a duplicate of the cancelled one
    await settle(rig)
    assert len(rig.delete.calls) == 1


async def test_an_open_breaker_stops_queued_actions(rig: Rig) -> None:
    from remediator.store import controls

    fire(rig)
    with rig.database.writing() as connection:
        controls.set_control(connection, controls.BREAKER, flag=True, at=rig.clock.now,
                             reason="tripped")
    await settle(rig)
    assert rig.delete.calls == []
    assert history(rig)[-1] == "breaker_open"


async def test_a_blocked_escalation_step_pages_instead_of_going_quiet(rig: Rig) -> None:
    from remediator.operate import operations
    from remediator.store.operating import OperatorStore

    rig.verifier.answers = [Outcome.UNVERIFIED]
    fire(rig)
    await settle(rig)
    operations.set_paused(OperatorStore(rig.database), True, "freeze", rig.clock.now)
    await settle(rig, after=timedelta(minutes=5))
    assert rig.restart.calls == []
    with rig.database.reading() as connection:
        entry = audit.query(connection, AuditQuery(outcome="exhausted"))[0][0]
    assert entry["reason"].startswith("escalation step 1 not taken (paused")


async def test_followups_are_queued_when_the_alert_resolved_during_the_action(
        rig: Rig) -> None:
    import asyncio

    revert = ActionRequest(type="kubernetes.hpa_revert", kind="hpa", name="web",
                           namespace="apps-a", params={"min_replicas": 2})
    gate, started = asyncio.Event(), asyncio.Event()

    class Slow:
        async def run(self, request: ActionRequest) -> ActionResult:
            started.set()
            await gate.wait()
            return ActionResult(message="raised", followups=(revert,))

    rig.worker.actions.register("kubernetes.delete_pod", Slow())
    fire(rig)
    await rig.worker.tick()
    await started.wait()
    rig.intake.receive([Alert.model_validate(crashloop(status="resolved"))], group_key="g")
    gate.set()
    await settle(rig)
    assert rig.restart.calls == [revert]


@pytest.mark.parametrize(("alertname", "runs"), [
    pytest.param("NodeFilesystemAlmostFull", True, id="check_in_dry_run"),
    pytest.param("NodeDiskQuiet", False, id="plain-dry-run"),
])
async def test_a_dry_run_runs_its_play_in_check_mode_only_when_the_rule_says_so(
        rig: Rig, alertname: str, runs: bool) -> None:
    from tests.support.payloads import alert

    decided = rig.intake.receive([Alert.model_validate(alert(alertname, node="worker-1"))],
                                 group_key="g")[0]
    assert decided["outcome"] == "dry_run"
    await settle(rig)
    assert [c.params["check"] for c in rig.play.calls] == ([True] if runs else [])
