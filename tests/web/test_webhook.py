"""POST /webhook/alertmanager with real Alertmanager payloads, lifespan running."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import (
    ALERT_BUDGET_BYTES,
    DEFAULT_MAX_BODY_BYTES,
    EXAMPLE_MAX_ALERTS,
    load_settings,
)
from remediator.model.clock import FakeClock
from remediator.store import Database
from remediator.web.app import create_app
from tests.support.payloads import alert, crashloop, payload
from tests.web.conftest import RecordingAction, auth, drain

EXAMPLES = Path(__file__).resolve().parents[2] / "alerts"


def post(client: TestClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.post("/webhook/alertmanager", content=json.dumps(body),
                       headers={"Content-Type": "application/json", **(headers or auth())})


def audit(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params=params, headers=auth())
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_firing_alert_is_decided_executed_and_audited(client: TestClient,
                                                      recorder: RecordingAction) -> None:
    response = post(client, payload(crashloop()))
    assert response.status_code == 200
    body = response.json()
    assert body["received"] == 1
    assert [d["outcome"] for d in body["decisions"]] == ["executed"]
    drain(client)
    assert [r.target for r in recorder.requests] == ["pod/apps-a/web-1"]
    outcomes = [e["outcome"] for e in audit(client, rule="restart-crashlooping-pod")]
    assert outcomes == ["succeeded", "executed"]


def test_repeats_and_ha_duplicates_act_once(client: TestClient,
                                            recorder: RecordingAction) -> None:
    for _ in range(3):
        post(client, payload(crashloop()))
    drain(client)
    assert len(recorder.requests) == 1
    assert [e["outcome"] for e in audit(client, outcome="duplicate")] == ["duplicate"] * 2


def test_resolved_alert_records_resolved_and_never_acts(client: TestClient,
                                                        recorder: RecordingAction) -> None:
    response = post(client, payload(crashloop(status="resolved")))
    assert [d["outcome"] for d in response.json()["decisions"]] == ["resolved"]
    drain(client)
    assert recorder.requests == []


@pytest.mark.parametrize(("headers", "status", "reason"), [
    pytest.param({}, 401, "missing bearer token", id="no-token"),
    pytest.param(auth("wrong"), 401, "invalid bearer token", id="wrong-token"),
    pytest.param(auth("read-only-token"), 403, "this token may only read",
                 id="read-token-cannot-act"),
    pytest.param({"Authorization": "Basic czNjcmV0"}, 401, "missing bearer token",
                 id="basic-auth"),
])
def test_unauthorised_deliveries_are_rejected_and_audited(
        client: TestClient, recorder: RecordingAction, headers: dict[str, str],
        status: int, reason: str) -> None:
    response = client.post("/webhook/alertmanager", json=payload(crashloop()), headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == reason
    drain(client)
    assert recorder.requests == []
    assert [e["reason"] for e in audit(client, outcome="rejected")] == [reason]


@pytest.mark.parametrize(("body", "status", "reason"), [
    pytest.param(b"{not json", 400, "invalid payload", id="malformed-json"),
    pytest.param(b"[]", 422, "invalid payload", id="not-an-object"),
    pytest.param(json.dumps({**payload(crashloop()), "version": "3"}).encode(), 422,
                 "version", id="unknown-version"),
    pytest.param(json.dumps({**payload(crashloop()), "alerts": "nope"}).encode(), 422,
                 "alerts", id="wrong-type"),
    pytest.param(json.dumps(payload({**crashloop(), "startsAt": "yesterday"})).encode(), 422,
                 "alerts.0.startsAt", id="bad-timestamp"),
    pytest.param(json.dumps(payload({**crashloop(), "startsAt": "2026-01-01T12:00:00"})).encode(),
                 422, "alerts.0.startsAt", id="timestamp-without-timezone"),
    pytest.param(json.dumps(payload({**crashloop(), "status": "exploded"})).encode(), 422,
                 "alerts.0.status", id="bad-status"),
    pytest.param(json.dumps(payload({**crashloop(), "labels": {"a": 1}})).encode(), 422,
                 "alerts.0.labels.a", id="non-string-label"),
    pytest.param(json.dumps(payload({**crashloop(), "labels": {"a": "x\u0000y"}})).encode(),
                 422, "alerts.0.labels.a", id="nul-in-label"),
])
def test_bad_payloads_are_4xx_with_a_reason_and_audited(
        client: TestClient, recorder: RecordingAction, body: bytes, status: int,
        reason: str) -> None:
    response = client.post("/webhook/alertmanager", content=body,
                           headers={**auth(), "Content-Type": "application/json"})
    assert response.status_code == status
    assert reason in response.json()["error"] + json.dumps(response.json()["details"])
    rejected = audit(client, outcome="rejected")
    assert len(rejected) == 1
    assert rejected[0]["detail"]["status"] == status
    drain(client)
    assert recorder.requests == []


def test_oversized_body_is_413(client: TestClient) -> None:
    padded = json.dumps(payload(crashloop())) + " " * DEFAULT_MAX_BODY_BYTES
    response = client.post("/webhook/alertmanager", content=padded,
                           headers={"Content-Type": "application/json", **auth()})
    assert response.status_code == 413
    assert audit(client, outcome="rejected")[0]["reason"].startswith("payload larger than")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                         lambda children: st.lists(children, max_size=3)
                         | st.dictionaries(st.text(max_size=8), children, max_size=4),
                         max_leaves=12))
def test_arbitrary_json_is_never_a_500(client: TestClient, body: Any) -> None:
    response = post(client, body)
    assert response.status_code in (400, 422)


def test_store_down_is_503_and_nothing_is_acknowledged(
        app_settings: dict[str, Any], clock: FakeClock, recorder: RecordingAction) -> None:
    database = Database(app_settings["database_url"], busy_timeout_ms=50)
    app = create_app(load_settings(**app_settings), scheduler=False, clock=clock,
                     database=database,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as client:
        # Another process holds SQLite's write lock: nothing can be committed.
        locker = sqlite3.connect(database.url.removeprefix("sqlite:///"), isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            response = post(client, payload(crashloop()))
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        drain(client)
        assert recorder.requests == []
        assert audit(client) == []
        retried = post(client, payload(crashloop()))
        assert retried.json()["decisions"][0]["outcome"] == "executed"


def test_mixed_batch_gets_one_decision_per_alert_and_rule(client: TestClient) -> None:
    body = payload(crashloop(pod="a"), crashloop(pod="b; reboot"), alert("SomethingElse"),
                   crashloop(pod="c", namespace="kube-system"))
    outcomes = [d["outcome"] for d in post(client, body).json()["decisions"]]
    assert outcomes == ["executed", "denied", "no_match", "no_match"]


@pytest.mark.parametrize("content_type", [
    pytest.param("text/plain", id="text"),
    pytest.param("application/x-www-form-urlencoded", id="form"),
    pytest.param("image/png", id="png"),
    pytest.param(None, id="missing"),
])
def test_a_body_that_is_not_declared_json_is_415_and_audited(
        client: TestClient, recorder: RecordingAction, content_type: str | None) -> None:
    headers = auth() if content_type is None else {**auth(), "Content-Type": content_type}
    response = client.post("/webhook/alertmanager", content=json.dumps(payload(crashloop())),
                           headers=headers)
    assert response.status_code == 415
    assert response.json()["error"].startswith("Content-Type must be application/json")
    drain(client)
    assert recorder.requests == []
    [rejected] = audit(client, outcome="rejected")
    assert rejected["detail"]["status"] == 415


def test_json_with_a_charset_is_accepted(client: TestClient) -> None:
    response = client.post("/webhook/alertmanager", content=json.dumps(payload(crashloop())),
                           headers={**auth(), "Content-Type": "Application/JSON; charset=utf-8"})
    assert response.status_code == 200


def _bulky_alert(i: int) -> dict[str, Any]:
    """An alert that serialises to just under the per-alert budget."""
    bulky = alert("LargeGroupMember", instance=f"node-{i}:9100")
    bulky["annotations"]["description"] = ""
    room = ALERT_BUDGET_BYTES - len(json.dumps(bulky)) - 8
    bulky["annotations"]["description"] = "x" * room
    return bulky


def test_the_largest_group_the_example_config_sends_fits_the_default_limit(
        client: TestClient) -> None:
    config = yaml.safe_load((EXAMPLES / "alertmanager.example.yml").read_text())
    [receiver] = [r for r in config["receivers"] if r["name"] == "remediator"]
    max_alerts = receiver["webhook_configs"][0]["max_alerts"]
    assert max_alerts == EXAMPLE_MAX_ALERTS  # the default is sized from it
    body = json.dumps(payload(*[_bulky_alert(i) for i in range(max_alerts)]))
    assert len(body) > 3 * 1024 * 1024  # the old 1 MiB limit held ~1,600 typical alerts
    response = client.post("/webhook/alertmanager", content=body,
                           headers={"Content-Type": "application/json", **auth()})
    assert response.status_code == 200
    assert response.json()["received"] == max_alerts
