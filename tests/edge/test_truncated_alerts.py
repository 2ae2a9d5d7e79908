"""`truncatedAlerts > 0`: the alerts cut off are fetched from a real Alertmanager at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.support import promstack
from tests.support.payloads import crashloop, payload
from tests.web.conftest import RecordingAction, auth, drain

pytestmark = pytest.mark.e2e

PODS = ["web-1", "web-2", "web-3"]  # the rule acts 3 times an hour at most
STARTED = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def alertmanager() -> Iterator[promstack.Alertmanager]:
    with promstack.run_alertmanager() as am:
        yield am


def _fire_in_alertmanager(am: promstack.Alertmanager, alerts: list[dict[str, Any]]) -> None:
    body = [{"labels": a["labels"], "annotations": a["annotations"],
             "startsAt": a["startsAt"]} for a in alerts]
    httpx.post(f"{am.url}/api/v2/alerts", json=body, timeout=10).raise_for_status()
    for a in alerts:
        am.wait_for_alert(a["labels"]["alertname"], labels=a["labels"], timeout=15)


@pytest.fixture
def client_with_am(app_settings: dict[str, Any], recorder: RecordingAction,
                   alertmanager: promstack.Alertmanager) -> Iterator[TestClient]:
    # No scheduler: the periodic reconciliation cannot be what finds the alerts.
    # promstack routes every alert to its receiver "webhook": that receiver is ours.
    settings = load_settings(**app_settings, alertmanager_url=alertmanager.url,
                             alertmanager_receiver="webhook")
    app = create_app(settings, scheduler=False, clock=FakeClock(datetime.now(UTC)),
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as test_client:
        yield test_client


def test_truncated_delivery_reconciles_the_missing_alerts_at_once(
        client_with_am: TestClient, alertmanager: promstack.Alertmanager,
        recorder: RecordingAction) -> None:
    group = [crashloop(pod=pod, namespace="apps-trunc", starts_at=STARTED) for pod in PODS]
    _fire_in_alertmanager(alertmanager, group)
    body = payload(group[0])
    body["truncatedAlerts"] = len(group) - 1
    response = client_with_am.post("/webhook/alertmanager", content=json.dumps(body),
                                   headers={"Content-Type": "application/json", **auth()})
    assert response.status_code == 200
    assert response.json()["truncated"] == len(group) - 1
    assert response.json()["reconciling"] is True
    services = client_with_am.app.state.services  # type: ignore[attr-defined]
    client_with_am.portal.call(services.catch_up.idle)
    drain(client_with_am)
    assert sorted(r.target for r in recorder.requests) == [
        f"pod/apps-trunc/{pod}" for pod in PODS]
    assert services.catch_up.runs == 1
    audited = client_with_am.get("/api/v1/audit", params={"outcome": "executed"},
                                 headers=auth()).json()["items"]
    assert sorted(e["group_key"] for e in audited) == sorted(
        ["reconcile", "reconcile", body["groupKey"]])


def test_without_alertmanager_url_the_cut_is_reported_not_hidden(
        client: TestClient, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    body = payload(crashloop())
    body["truncatedAlerts"] = 7
    response = client.post("/webhook/alertmanager", content=json.dumps(body),
                           headers={"Content-Type": "application/json", **auth()})
    assert response.status_code == 200
    assert response.json()["reconciling"] is False
    assert "cut 7 alerts off a notification and no ALERTMANAGER_URL" in caplog.text
