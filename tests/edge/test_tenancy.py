"""One Alertmanager, two teams' receivers: only our alerts are ever acted on (issue 20, item 1).

A real Alertmanager routes `team="payments"` alerts to the payments team's
receiver and every other alert to ours. Catch-up (after a truncated
notification) and the periodic reconciliation both read it; neither decides
the other team's alert, and neither "resolves" an alert that still fires.
Without `ALERTMANAGER_RECEIVER` both act only on alerts received by webhook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.intake.reconcile import reconcile
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.support import promstack
from tests.support.payloads import alert, crashloop, payload
from tests.web.conftest import RecordingAction, auth, drain

pytestmark = pytest.mark.e2e

OURS = "monitoring/remediator/remediator"  # prometheus-operator names receivers ns/config/name
THEIRS = "payments/oncall/pager"
STARTED = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def alertmanager() -> Iterator[promstack.Alertmanager]:
    config = {
        "route": {"receiver": OURS, "group_by": ["alertname", "namespace", "pod"],
                  "group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h",
                  "routes": [{"receiver": THEIRS, "matchers": ['team="payments"']}]},
        "receivers": [{"name": OURS}, {"name": THEIRS}],
    }
    with promstack.run_alertmanager(config=config) as am:
        yield am


def post_to_alertmanager(am: promstack.Alertmanager, alerts: list[dict[str, Any]], *,
                         ends_at: datetime | None = None) -> None:
    """Fire (or, with `ends_at` past, resolve) alerts as Prometheus would."""
    body = [{"labels": a["labels"], "annotations": a["annotations"], "startsAt": a["startsAt"],
             **({"endsAt": ends_at.isoformat()} if ends_at else {})} for a in alerts]
    httpx.post(f"{am.url}/api/v2/alerts", json=body, timeout=10).raise_for_status()
    wanted = {a["fingerprint"] for a in alerts}

    def settled() -> bool | None:
        active = {a["fingerprint"] for a in am.alerts()}
        return (not wanted & active if ends_at else wanted <= active) or None
    promstack.wait_until(settled, timeout=15, what="Alertmanager to take the alerts")


def theirs(namespace: str) -> dict[str, Any]:
    """Another team's crash-looping pod: our rule would match it, its route is not ours."""
    return alert("KubePodCrashLooping", starts_at=STARTED, namespace=namespace, pod="pay-0",
                 deployment="pay", team="payments")


def ours(namespace: str, *pods: str) -> list[dict[str, Any]]:
    return [crashloop(pod=pod, namespace=namespace, starts_at=STARTED) for pod in pods]


class Service:
    """The app with the scheduler off: catch-up and reconciliation are run by the test."""

    def __init__(self, client: TestClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.services = client.app.state.services  # type: ignore[attr-defined]
        assert client.portal is not None  # inside `with TestClient(app)`
        self.portal = client.portal

    def deliver(self, alerts: list[dict[str, Any]], *, truncated: int = 0) -> dict[str, Any]:
        body = payload(*alerts)
        body["receiver"], body["truncatedAlerts"] = OURS, truncated
        response = self.client.post("/webhook/alertmanager", content=json.dumps(body),
                                    headers={"Content-Type": "application/json", **auth()})
        assert response.status_code == 200, response.text
        self.portal.call(self.services.catch_up.idle)
        drain(self.client)
        answer: dict[str, Any] = response.json()
        return answer

    def reconcile(self) -> list[tuple[str, str]]:
        """One periodic reconciliation, a minute on: (outcome, fingerprint) decided."""
        self.clock.advance(minutes=1)  # Alertmanager's endsAt stays minutes ahead
        decided = self.portal.call(reconcile, self.services.alertmanager,
                                          self.services.intake)
        drain(self.client)
        return [(d["outcome"], d["fingerprint"]) for d in decided]

    def audit_of(self, entry: dict[str, Any]) -> list[str]:
        items = self.client.get("/api/v1/audit", params={"limit": "500"},
                                headers=auth()).json()["items"]
        return [i["outcome"] for i in reversed(items)  # oldest first
                if i["fingerprint"] == entry["fingerprint"]]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """What the service logged since it started (its start-up is the fixture's setup)."""
    return "\n".join(r.getMessage() for phase in ("setup", "call")
                     for r in caplog.get_records(phase))


@pytest.fixture
def service(request: pytest.FixtureRequest, app_settings: dict[str, Any],
            recorder: RecordingAction, alertmanager: promstack.Alertmanager,
            caplog: pytest.LogCaptureFixture) -> Iterator[Service]:
    caplog.set_level(logging.INFO, logger="remediator")
    clock = FakeClock(datetime.now(UTC))
    settings = load_settings(**app_settings, alertmanager_url=alertmanager.url,
                             alertmanager_receiver=request.param)
    app = create_app(settings, scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as client:
        yield Service(client, clock)


@pytest.mark.parametrize("service", [OURS], indirect=True)
def test_with_our_receiver_another_teams_alert_is_never_decided_or_resolved(
        service: Service, alertmanager: promstack.Alertmanager, recorder: RecordingAction,
        caplog: pytest.LogCaptureFixture) -> None:
    mine, other = ours("apps-tenant-a", "web-1", "web-2"), theirs("apps-tenant-a")
    post_to_alertmanager(alertmanager, [*mine, other])
    answer = service.deliver(mine[:1], truncated=2)  # Alertmanager cut off the rest
    assert answer["reconciling"] is True
    assert sorted(r.target for r in recorder.requests) == [
        "pod/apps-tenant-a/web-1", "pod/apps-tenant-a/web-2"]
    assert service.reconcile() == []  # everything fires: nothing to resolve, nothing new
    post_to_alertmanager(alertmanager, mine[1:], ends_at=datetime.now(UTC) - timedelta(seconds=1))
    assert service.reconcile() == [("resolved", mine[1]["fingerprint"])]
    assert service.audit_of(other) == []
    assert service.audit_of(mine[0]) == ["executed", "succeeded"]
    assert f"routed to receiver {OURS!r}" in logged(caplog)


@pytest.mark.parametrize("service", [None], indirect=True)
def test_without_a_receiver_only_alerts_received_by_webhook_are_acted_on(
        service: Service, alertmanager: promstack.Alertmanager, recorder: RecordingAction,
        caplog: pytest.LogCaptureFixture) -> None:
    mine, other = ours("apps-tenant-b", "web-1", "web-2"), theirs("apps-tenant-b")
    service.deliver(mine[:1])
    post_to_alertmanager(alertmanager, [*mine, other])
    service.deliver(mine[:1], truncated=2)
    # web-2 was never delivered here: from Alertmanager alone it cannot be told from
    # another team's alert, so it is left alone; pay-0 is another team's.
    assert [r.target for r in recorder.requests] == ["pod/apps-tenant-b/web-1"]
    assert service.reconcile() == []
    post_to_alertmanager(alertmanager, mine[:1], ends_at=datetime.now(UTC) - timedelta(seconds=1))
    assert service.reconcile() == [("resolved", mine[0]["fingerprint"])]
    assert service.audit_of(other) == []
    assert service.audit_of(mine[1]) == []
    assert "act only on alerts this service has received by webhook" in logged(caplog)
    assert "without ALERTMANAGER_RECEIVER" in logged(caplog)  # when a delivery is cut
