"""The queue drains at the speed of the actions: a finished job refills its slot
at once instead of waiting for the scheduler's next poll, and a stopped worker
claims nothing more."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import func, select

from remediator.model.actions import ActionRequest, ActionResult
from remediator.store import jobs
from remediator.store.tables import jobs as jobs_table
from tests.worker.conftest import Rig
from tests.worker.test_worker import fire, history

# A bound for a broken implementation to fail by, not a wait for the right one.
_BOUND = 10.0


@dataclass
class CountingAction:
    """Succeeds at once; sets `all_done` when the expected number of calls arrived."""

    expected: int
    calls: list[str] = field(default_factory=list)
    all_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, request: ActionRequest) -> ActionResult:
        self.calls.append(request.target)
        if len(self.calls) >= self.expected:
            self.all_done.set()
        return ActionResult(message="done")


@dataclass
class GatedAction:
    """Each call waits until the test opens the gate."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[str] = field(default_factory=list)
    running: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, request: ActionRequest) -> ActionResult:
        self.calls.append(request.target)
        self.running.set()
        await self.gate.wait()
        return ActionResult(message="done")


def queued(rig: Rig) -> int:
    with rig.database.reading() as connection:
        return int(connection.execute(select(func.count()).select_from(jobs_table).where(
            jobs_table.c.state == jobs.QUEUED, jobs_table.c.kind == jobs.ACTION)).scalar_one())


async def test_one_wake_up_drains_more_jobs_than_there_are_slots(rig: Rig) -> None:
    action = CountingAction(expected=10)
    rig.worker.actions.register("kubernetes.delete_pod", action)
    rig.worker.concurrency = 2
    for index in range(10):
        fire(rig, pod=f"p{index}")

    rig.worker.wake()  # once, as the webhook does; no poll follows
    await asyncio.wait_for(action.all_done.wait(), _BOUND)
    await rig.worker.drain()

    assert sorted(action.calls) == sorted(f"pod/apps-a/p{i}" for i in range(10))
    assert history(rig).count("succeeded") == 10
    assert queued(rig) == 0


async def test_a_wake_up_during_a_claim_is_not_lost(rig: Rig) -> None:
    """An alert committed (and its wake-up sent) while a claim is reading the queue."""
    action = CountingAction(expected=3)
    rig.worker.actions.register("kubernetes.delete_pod", action)
    loop = asyncio.get_running_loop()
    claim = rig.worker._claim
    pods = iter(["p1", "p2"])

    def claim_while_a_webhook_commits(limit: int) -> list[jobs.Job]:
        claimed = claim(limit)
        pod = next(pods, None)
        if pod is not None:  # after this claim read the queue, before it returns
            fire(rig, pod=pod)
            loop.call_soon_threadsafe(rig.worker.wake)
        return claimed

    rig.worker._claim = claim_while_a_webhook_commits  # type: ignore[method-assign]
    fire(rig, pod="p0")
    rig.worker.wake()
    await asyncio.wait_for(action.all_done.wait(), _BOUND)
    assert sorted(action.calls) == [f"pod/apps-a/p{i}" for i in range(3)]
    await rig.worker.drain()


async def test_a_stopped_worker_does_not_refill_its_slots(rig: Rig) -> None:
    action = GatedAction()
    rig.worker.actions.register("kubernetes.delete_pod", action)
    rig.worker.concurrency = 1
    for index in range(3):
        fire(rig, pod=f"p{index}")
    rig.worker.wake()
    await asyncio.wait_for(action.running.wait(), _BOUND)

    stopping = asyncio.create_task(rig.worker.stop(grace=_BOUND))
    await asyncio.sleep(0)  # let stop() mark the worker as stopping
    action.gate.set()  # the running job finishes inside the grace
    await asyncio.wait_for(stopping, _BOUND)

    assert action.calls == ["pod/apps-a/p0"]
    assert history(rig).count("succeeded") == 1
    assert queued(rig) == 2  # left for the next start, not claimed and abandoned
    assert await rig.worker.tick() == 0
