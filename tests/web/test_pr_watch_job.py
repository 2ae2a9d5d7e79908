"""The pull-request watch as `build_scheduler` wires it: every minute, harmless when idle."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi.testclient import TestClient

from remediator.app.scheduler import build_scheduler


def test_the_scheduler_asks_about_pull_requests_every_minute(client: TestClient) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    job = build_scheduler(services).get_job("gitops-pull-requests")
    assert job is not None and job.trigger.interval == timedelta(seconds=60)
    asyncio.run(job.func(*job.args, **job.kwargs))  # nothing suspended: nothing asked
