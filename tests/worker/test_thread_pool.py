"""`WORKERS` actions really run at once: the event loop's thread pool fits them.

Every job holds a thread while it writes to the database or waits for an API
server (the Kubernetes client is synchronous). The loop's default pool has
min(32, cores + 4) threads, shared with the webhook's writer and the
scheduler: with more workers than that, jobs queued for threads and the
drain rate stopped growing with `WORKERS` (issue 11: actions against kmock).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import func, select

from remediator.actions.registry import ActionRegistry
from remediator.app.services import Services
from remediator.app.settings import load_settings
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.alerts import Alert
from remediator.store.tables import audit
from tests.support.payloads import crashloop
from tests.worker.conftest import RULES

WORKERS = 40  # more than the default pool has threads on any machine (at most 32)
_BOUND = 20.0  # seconds: a bound for the broken case to fail by, never waited out when right


class BlockingAction:
    """A synchronous client call, made in a thread; returns once WORKERS calls block at once."""

    def __init__(self) -> None:
        self.together = threading.Barrier(WORKERS, timeout=_BOUND)

    async def run(self, request: ActionRequest) -> ActionResult:
        await asyncio.to_thread(self.together.wait)
        return ActionResult(message="done")


async def test_as_many_actions_run_at_once_as_there_are_workers(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    settings = load_settings(rules=[str(tmp_path / "rules.yml")], dev=True, workers=WORKERS,
                             kubernetes="off", global_rate_max=1000,
                             breaker_max_actions=1000,
                             database_url=f"sqlite:///{tmp_path / 'r.db'}")
    action = BlockingAction()
    services = Services.build(settings, actions=ActionRegistry(
        {"kubernetes.delete_pod": action, "kubernetes.rollout_restart": action}))
    try:
        services.start()
        alerts = [Alert.model_validate(crashloop(pod=f"p{i}")) for i in range(WORKERS)]
        decisions = services.intake.receive(alerts, group_key="g")
        assert [d["outcome"] for d in decisions] == ["executed"] * WORKERS

        await asyncio.wait_for(services.worker.drain(), _BOUND * 2)

        with services.database.reading() as connection:
            outcomes = dict(connection.execute(select(audit.c.outcome, func.count())
                                               .group_by(audit.c.outcome)).all())
        assert outcomes == {"executed": WORKERS, "succeeded": WORKERS}
    finally:
        await services.worker.stop()
        await services.aclose()
