"""A late `resolved` of an earlier episode touches nothing of the episode firing now
(issue 20, item 8), through the webhook, on SQLite and PostgreSQL.

An alert's episode is its fingerprint and startsAt. Alertmanager may deliver
the resolve of episode 1 after episode 2 began (a retried notification, a
second Alertmanager of an HA pair); it used to close episode 2's remediation
(stopping its verification and escalation, running its follow-ups) and mark
the alert resolved for `unless_firing`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.support.keys import shared_audit_key
from tests.support.payloads import START, alert, crashloop
from tests.web.conftest import RecordingAction, auth, drain
from tests.web.test_api import deliver


@pytest.fixture
def client(app_settings: dict[str, Any], database_url: str, recorder: RecordingAction,
           clock: FakeClock, tmp_path: Path) -> Iterator[TestClient]:
    """The running app over each backend (`database_url`: SQLite, real PostgreSQL)."""
    settings = load_settings(**{**app_settings, "database_url": database_url,
                                "state_dir": tmp_path,  # the audit key, never the cwd
                                "audit_key_file": shared_audit_key(tmp_path),
                                "session_key": "episodes-test-session-key"})
    app = create_app(settings, scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as test_client:
        yield test_client


def remediation(client: TestClient, rid: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()
    return body


def test_a_late_resolve_of_an_earlier_episode_leaves_the_open_one_open(
        client: TestClient, clock: FakeClock) -> None:
    clock.now = START + timedelta(minutes=1)
    first = deliver(client, crashloop())[0]["remediation_id"]
    drain(client)
    clock.advance(hours=2)  # episode 1's resolve is still on its way; episode 2 begins
    later = START + timedelta(hours=2)
    second = deliver(client, crashloop(starts_at=later))[0]["remediation_id"]
    late = deliver(client, crashloop(status="resolved"))  # episode 1, startsAt START
    assert [d["remediation_ids"] for d in late] == [[first]]
    assert late[0]["reason"] == (
        "alert resolved: the episode started 2026-01-01T12:00:00+00:00; the later episode "
        "started 2026-01-01T14:00:00+00:00 stays open")
    assert remediation(client, first)["resolved_at"] is not None
    assert remediation(client, second)["resolved_at"] is None
    drain(client)  # episode 2's action still runs: its remediation was not resolved
    assert remediation(client, second)["state"] == "succeeded"
    done = deliver(client, crashloop(starts_at=later, status="resolved"))
    assert [d["remediation_ids"] for d in done] == [[second]]


def test_a_late_resolve_does_not_unblock_unless_firing(client: TestClient,
                                                        clock: FakeClock) -> None:
    clock.now = START + timedelta(hours=3)
    node_down = alert("KubeNodeNotReady", node="worker-1")
    deliver(client, node_down)
    deliver(client, alert("KubeNodeNotReady", node="worker-1",
                          starts_at=START + timedelta(hours=2)))  # its next episode
    deliver(client, alert("KubeNodeNotReady", status="resolved", node="worker-1"))  # late
    blocked = deliver(client, crashloop(starts_at=START + timedelta(hours=3)))
    assert [(d["outcome"], d["reason"]) for d in blocked] == [
        ("denied", "unless_firing: KubeNodeNotReady is firing")]
