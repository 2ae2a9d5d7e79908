"""Answering an expired approval request: 409, it stays `expired`, and the attempt is
audited (issue 20, item 9), through the API.

The refusal used to be raised inside the transaction that had just expired the
request: both were rolled back, so the request came back `awaiting_approval`
(its expiry undone until the scheduler's next pass) and nobody could tell an
operator had tried.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.testclient import TestClient

from remediator.app.scheduler import build_scheduler
from remediator.model.clock import FakeClock
from remediator.operate import approvals
from tests.web.conftest import RecordingAction, auth, drain
from tests.web.test_api import deliver
from tests.web.test_console import audit, payments


def answer(client: TestClient, rid: str, verb: str, reason: str) -> Any:
    return client.post(f"/api/v1/remediations/{rid}/{verb}", headers=auth(),
                       json={"reason": reason})


def state(client: TestClient, rid: str) -> str:
    found: str = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()["state"]
    return found


def test_approving_past_the_expiry_is_refused_and_audited(
        client: TestClient, clock: FakeClock, recorder: RecordingAction) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    clock.advance(minutes=31)  # the rule's timeout is 30m; the scheduler has not run yet
    late = answer(client, rid, "approve", "saw it late")
    assert late.status_code == 409
    assert state(client, rid) == "expired"
    drain(client)
    assert recorder.requests == []
    [attempt] = audit(client, outcome="operator")
    assert (attempt["action"], attempt["remediation_id"]) == ("approve", rid)
    assert attempt["reason"] == ("approve refused: the approval request expired at "
                                 "2026-01-01T00:30:00+00:00 (reason given: saw it late)")
    assert {k: attempt["detail"][k] for k in ("actor", "client", "given_reason")} == {
        "actor": "webhook-token", "client": "testclient", "given_reason": "saw it late"}
    assert [e["outcome"] for e in audit(client, outcome="expired")] == ["expired"]
    assert late.json()["detail"] == (
        f"remediation {rid[:8]} is expired, not awaiting approval: the request expired at "
        "2026-01-01T00:30:00+00:00; nothing was approved (the alert's next notification "
        "asks again)")
    # The expiry stands: the key was given back, so the alert asks again.
    assert deliver(client, payments())[0]["outcome"] == "awaiting_approval"
    services = client.app.state.services  # type: ignore[attr-defined]
    assert approvals.expire_due(services.approval_store, clock()) == []


def test_declining_a_request_the_scheduler_expired_is_refused_and_audited(
        client: TestClient, clock: FakeClock) -> None:
    rid = deliver(client, payments())[0]["remediation_id"]
    clock.advance(minutes=31)
    services = client.app.state.services  # type: ignore[attr-defined]
    assert [r.id for r in approvals.expire_due(services.approval_store, clock())] == [rid]
    for _ in range(2):
        refused = answer(client, rid, "decline", "")
        assert refused.status_code == 409
    assert state(client, rid) == "expired"
    attempts = audit(client, outcome="operator")
    assert [(a["action"], a["reason"]) for a in attempts] == [
        ("decline", "decline refused: the approval request expired at "
                    "2026-01-01T00:30:00+00:00")] * 2
    assert "expired at 2026-01-01T00:30:00+00:00; nothing was declined" in (
        refused.json()["detail"])
    assert [e["outcome"] for e in audit(client, outcome="expired")] == ["expired"]


def test_the_scheduler_job_expires_and_counts_unanswered_requests(
        client: TestClient, clock: FakeClock) -> None:
    """The job as `build_scheduler` wires it: the approval store, the clock, a counter."""
    rid = deliver(client, payments())[0]["remediation_id"]
    services = client.app.state.services  # type: ignore[attr-defined]
    job = build_scheduler(services).get_job("expire-approvals")
    clock.advance(minutes=31)
    asyncio.run(job.func(*job.args, **job.kwargs))
    assert state(client, rid) == "expired"
    assert services.metrics.registry.get_sample_value(
        "remediator_approvals_total",
        {"rule": "restart-crashlooping-pod", "outcome": "expired"}) == 1
