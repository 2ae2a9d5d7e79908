"""Issue 7, lifecycle: ladder reverts, atomic escalation, follow-ups under pause,
lease recovery of follow-ups and of this instance's previous run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from remediator.decide.engine import breaker_state
from remediator.execute.worker import Worker, owner_id
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.operate import operations
from remediator.store import jobs, recorder
from remediator.store.guard_state import DatabaseState
from remediator.store.operating import OperatorStore
from remediator.store.tables import jobs as jobs_table
from remediator.store.tables import remediations as remediations_table
from tests.support.payloads import crashloop
from tests.worker.conftest import Rig
from tests.worker.test_worker import fire, history, settle


def revert(old: tuple[int, int], ours: tuple[int, int]) -> ActionRequest:
    return ActionRequest(type="kubernetes.hpa_revert", kind="hpa", name="web",
                         namespace="apps-a",
                         params={"min_replicas": old[0], "max_replicas": old[1],
                                 "expect_min": ours[0], "expect_max": ours[1]})


def resolve(rig: Rig) -> None:
    rig.intake.receive([Alert.model_validate(crashloop(status="resolved"))], group_key="g")


async def test_ladder_reverts_end_at_the_roots_original_bounds(rig: Rig) -> None:
    """(2,5) -> (2,6) -> (2,7): one revert, to (2,5), expecting (2,7)."""
    rig.verifier.answers = [Outcome.UNVERIFIED]
    rig.delete.script = [ActionResult(message="raised", followups=(revert((2, 5), (2, 6)),))]
    rig.restart.script = [ActionResult(message="raised", followups=(revert((2, 6), (2, 7)),))]
    fire(rig)
    await settle(rig)
    await settle(rig, after=timedelta(minutes=5))  # unverified -> step 1 raises again
    assert len(rig.restart.calls) == 1
    resolve(rig)
    await settle(rig)
    reverts = [c for c in rig.restart.calls if c.type == "kubernetes.hpa_revert"]
    assert reverts == [revert((2, 5), (2, 7))]


async def test_unverified_and_the_next_step_commit_together(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash while deciding the escalation must not leave `unverified` alone
    (which ended the ladder silently): nothing commits and the verification
    runs again after lease recovery, then escalates."""
    rig.verifier.answers = [Outcome.UNVERIFIED, Outcome.UNVERIFIED]
    fire(rig)
    await settle(rig)
    real_record = recorder.record
    crashes = [RuntimeError("crash between unverified and the escalation")]

    def record_then_crash(*args: object, **kwargs: object) -> object:
        if crashes:
            raise crashes.pop()
        return real_record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(recorder, "record", record_then_crash)
    await settle(rig, after=timedelta(minutes=5))
    assert "unverified" not in history(rig)
    rig.clock.advance(minutes=6)  # the verify job's lease expires
    assert rig.worker.recover_expired() == 1
    await settle(rig)
    assert history(rig)[-3:] == ["unverified", "executed", "succeeded"]
    assert [c.type for c in rig.restart.calls] == ["kubernetes.rollout_restart"]


async def test_followups_wait_while_paused(rig: Rig) -> None:
    rig.delete.script = [ActionResult(message="raised", followups=(revert((2, 5), (2, 6)),))]
    fire(rig)
    await settle(rig)
    operations.set_paused(OperatorStore(rig.database), True, "freeze", rig.clock.now)
    resolve(rig)
    await settle(rig)
    await settle(rig, after=timedelta(minutes=1))
    assert rig.restart.calls == []
    assert history(rig).count("paused") == 1  # noted once, not at every recheck
    operations.set_paused(OperatorStore(rig.database), False, "over", rig.clock.now)
    await settle(rig, after=timedelta(minutes=1))
    assert rig.restart.calls == [revert((2, 5), (2, 6))]
    assert history(rig)[-1] == "succeeded"


async def test_an_interrupted_followup_does_not_fail_its_parent(rig: Rig) -> None:
    rig.delete.script = [ActionResult(message="raised", followups=(revert((2, 5), (2, 6)),))]
    remediation_id = fire(rig)
    await settle(rig)
    resolve(rig)
    with rig.database.writing() as connection:  # a worker claims the follow-up, then dies
        claimed = jobs.claim(connection, owner="dead", now=rig.clock.now, limit=1,
                             lease=timedelta(minutes=1))
    assert [job.kind for job in claimed] == [jobs.FOLLOWUP]
    rig.clock.advance(minutes=2)
    assert rig.worker.recover_expired() == 1
    with rig.database.reading() as connection:
        state, failed_at = connection.execute(
            select(remediations_table.c.state, remediations_table.c.failed_at)
            .where(remediations_table.c.id == remediation_id)).one()
        failures = DatabaseState(connection).failures_since(rig.clock.now - timedelta(hours=1))
        verdict = breaker_state(DatabaseState(connection), rig.intake.policy, rig.clock.now)
    assert (state, failed_at, failures) == ("succeeded", None, 0)
    assert not verdict.open
    assert history(rig)[-1] == "failed"  # the follow-up's own entry says what happened


async def test_a_restart_recovers_expired_leases_only_never_by_host_name(rig: Rig) -> None:
    """A restarted replica on host `node` failed live `node-2`'s running job (issue 20)."""
    fire(rig)
    fire(rig, pod="web-2")
    restarted = Worker(store=rig.worker.store, policy=rig.worker.policy,
                       rules=rig.intake.rulebook.current.by_name, actions=rig.worker.actions,
                       verifier=rig.verifier, metrics=rig.metrics.worker, clock=rig.clock,
                       owner=owner_id("node"))
    with rig.database.writing() as connection:
        jobs.claim(connection, owner=owner_id("node-2"), now=rig.clock.now, limit=1,
                   lease=timedelta(minutes=5))  # live: it renews its lease
        jobs.claim(connection, owner=owner_id("node"), now=rig.clock.now, limit=1,
                   lease=timedelta(minutes=1))  # the previous run of `node`
    assert restarted.recover_expired() == 0  # leases still valid
    rig.clock.advance(minutes=2)
    assert restarted.recover_expired() == 1
    with rig.database.reading() as connection:
        states = connection.execute(select(jobs_table.c.state)).scalars().all()
    assert sorted(states) == ["done", "running"]  # the live replica's job is left alone
    assert history(rig).count("failed") == 1


async def test_the_last_action_the_breaker_allowed_still_runs(rig: Rig) -> None:
    """A queued action counted itself again and was cancelled as `breaker_open`."""
    from remediator.model.policy import Policy

    rig.intake.policy = rig.worker.policy = Policy(breaker_max_actions=2)
    fire(rig, pod="a")
    fire(rig, pod="b")
    await settle(rig)
    assert len(rig.delete.calls) == 2
    assert "breaker_open" not in history(rig)


async def test_an_action_cancelled_by_pause_counts_for_no_cooldown_or_rate(rig: Rig) -> None:
    """Issue 7, bug 2: after resume the repeat was `cooldown ... acted on 60s ago`."""
    from tests.support.payloads import alert

    def slow_crash() -> dict[str, str]:
        summary = rig.intake.receive([Alert.model_validate(
            alert("PodCrashLoopingSlowly", namespace="apps-a", pod="web-1"))], group_key="g")[0]
        return {"outcome": summary["outcome"], "reason": summary["reason"]}

    assert slow_crash()["outcome"] == "executed"
    operations.set_paused(OperatorStore(rig.database), True, "incident", rig.clock.now)
    await settle(rig)
    operations.set_paused(OperatorStore(rig.database), False, "over", rig.clock.now)
    rig.clock.advance(minutes=1)
    assert slow_crash() == {"outcome": "executed",
                            "reason": "kubernetes.delete_pod on pod/apps-a/web-1 queued"}
    await settle(rig)
    assert len(rig.delete.calls) == 1


async def test_a_running_followup_is_leased_for_its_timeout_plus_a_margin(rig: Rig) -> None:
    """Issue 20, item 10: a follow-up kept a claim's 5-minute lease whatever its timeout.

    A 20-minute revert looked abandoned after 5: recovery failed it while it
    ran, and another worker could have claimed it again.
    """
    slow = ActionRequest(type="kubernetes.hpa_revert", kind="hpa", name="web",
                         namespace="apps-a", timeout=1200,
                         params={"min_replicas": 2, "max_replicas": 5,
                                 "expect_min": 2, "expect_max": 6})
    rig.delete.script = [ActionResult(message="raised", followups=(slow,))]
    rig.restart.script = ["hang"]
    fire(rig)
    await settle(rig)
    resolve(rig)
    await rig.worker.tick()
    await rig.restart.started.wait()
    with rig.database.reading() as connection:
        lease = connection.execute(select(jobs_table.c.lease_expires).where(
            jobs_table.c.kind == jobs.FOLLOWUP)).scalar_one()
    assert lease == rig.clock.now + timedelta(minutes=20 + 5)
    rig.clock.advance(minutes=6)
    assert rig.worker.recover_expired() == 0  # still running, not lost
    await rig.worker.stop(grace=0)


async def test_a_running_jobs_lease_is_renewed_and_a_lost_one_is_reported(rig: Rig) -> None:
    """The heartbeat keeps a long action's lease (recovery leaves it alone); once a
    stall lets it expire and another replica recovers it, the worker learns it lost it."""
    rig.delete.script = ["hang"]
    fire(rig)
    await rig.worker.tick()
    await rig.delete.started.wait()  # leased for its 1 s timeout + 5 minutes
    other = Worker(store=rig.worker.store, policy=rig.worker.policy,
                   rules=rig.intake.rulebook.current.by_name, actions=rig.worker.actions,
                   verifier=rig.verifier, metrics=rig.metrics.worker, clock=rig.clock)
    for _ in range(4):  # 12 minutes of heartbeats, well past the first lease
        rig.clock.advance(minutes=3)
        assert rig.worker.renew_leases() == []
        assert other.recover_expired() == 0
    rig.clock.advance(minutes=10)  # the worker stalled: no heartbeat
    assert other.recover_expired() == 1
    assert [job.kind for job in rig.worker.renew_leases()] == [jobs.ACTION]
    await rig.worker.stop(grace=0)
    assert history(rig) == ["executed", "failed"]  # interrupted, once
