"""Read API, operator controls, Prometheus endpoints and the on-call page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.rules.model import RuleLoadError
from remediator.web.app import ConfigurationError, create_app
from tests.support.payloads import alert, crashloop, payload
from tests.web.conftest import READ_TOKEN, auth, drain


def deliver(client: TestClient, *alerts: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/webhook/alertmanager", json=payload(*alerts), headers=auth())
    assert response.status_code == 200
    decisions: list[dict[str, Any]] = response.json()["decisions"]
    return decisions


def sample(client: TestClient, name: str, **labels: str) -> float | None:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def test_remediation_shows_its_whole_history(client: TestClient) -> None:
    rid = deliver(client, crashloop())[0]["remediation_id"]
    drain(client)
    body = client.get(f"/api/v1/remediations/{rid}", headers=auth(READ_TOKEN)).json()
    assert body["state"] == "succeeded"
    assert [step["id"] for step in body["steps"]] == [rid]
    assert [e["outcome"] for e in body["timeline"]] == ["executed", "succeeded"]
    assert body["timeline"][1]["duration_ms"] is not None
    assert "key" not in body
    assert "followups" not in body


def test_unknown_remediation_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/remediations/nope", headers=auth()).status_code == 404


@pytest.mark.parametrize(("params", "message"), [
    pytest.param({"outcome": "exploded"}, "unknown outcome", id="bad-outcome"),
    pytest.param({"since": "last tuesday"}, "invalid time", id="bad-since"),
    pytest.param({"cursor": "abc"}, "invalid cursor", id="bad-cursor"),
    pytest.param({"cursor": "9" * 30}, "invalid cursor", id="huge-cursor"),
    pytest.param({"since": "99999999999999h"}, "invalid time", id="since-overflow"),
    pytest.param({"limit": "0"}, "invalid request", id="bad-limit"),
])
def test_bad_audit_queries_are_400(client: TestClient, params: dict[str, str],
                                   message: str) -> None:
    response = client.get("/api/v1/audit", params=params, headers=auth())
    assert response.status_code == 400
    assert message in str(response.json())


def test_read_token_reads_but_cannot_control(client: TestClient) -> None:
    assert client.get("/api/v1/audit", headers=auth(READ_TOKEN)).status_code == 200
    assert client.get("/api/v1/audit").status_code == 401
    for path in ("/api/v1/pause", "/-/reload", "/api/v1/breaker/reset"):
        refused = client.post(path, headers=auth(READ_TOKEN))
        assert refused.status_code == 403, path
        assert refused.json()["detail"] == "this token may only read"
    page = client.get("/", headers=auth("wrong"), follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F"


def test_pause_and_resume(client: TestClient) -> None:
    status = client.post("/api/v1/pause", params={"reason": "incident 42"}, headers=auth())
    assert status.json()["paused"] is True
    assert deliver(client, crashloop())[0]["outcome"] == "paused"
    client.post("/api/v1/resume", headers=auth())
    assert deliver(client, crashloop())[0]["outcome"] == "executed"


def test_breaker_trips_shows_in_metrics_and_resets(client: TestClient,
                                                   clock: FakeClock) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.intake.policy = services.intake.policy.__class__(breaker_max_actions=2)
    outcomes = [deliver(client, crashloop(pod=f"p{i}", namespace=f"apps-{i}"))[0]["outcome"]
                for i in range(4)]
    assert outcomes == ["executed", "executed", "breaker_open", "breaker_open"]
    assert sample(client, "remediator_breaker_open") == 1.0
    status = client.get("/api/v1/status", headers=auth()).json()
    assert status["breaker_open"] is True
    assert "tripped" in status["breaker_reason"] or "open until" in status["breaker_reason"]
    clock.advance(seconds=1)
    reset = client.post("/api/v1/breaker/reset", headers=auth()).json()
    assert reset["breaker_open"] is False
    assert deliver(client, crashloop(pod="p9", namespace="apps-9"))[0]["outcome"] == "executed"


def test_rules_and_reload_keeps_old_rules_when_new_ones_are_bad(
        tmp_path: Path, app_settings: dict[str, Any]) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text((Path(app_settings["rules"][0]) / "workloads.yml").read_text())
    app = create_app(load_settings(**{**app_settings, "rules": [str(rules)]}), scheduler=False)
    with TestClient(app) as client:
        before = client.get("/api/v1/rules", headers=auth()).json()
        rules.write_text("rules:\n  - name: broken\n    matchers: []\n")
        response = client.post("/-/reload", headers=auth())
        assert response.status_code == 400
        assert any("rules.yml:3" in e for e in response.json()["errors"])
        assert client.get("/api/v1/rules", headers=auth()).json()["digest"] == before["digest"]
        assert sample(client, "remediator_rules_last_reload_success") == 0.0
        assert deliver(client, crashloop())[0]["rule"] == "restart-crashlooping-pod"


def test_metrics_count_deliveries_decisions_and_results(client: TestClient) -> None:
    deliver(client, crashloop(), alert("Other"))
    drain(client)
    assert sample(client, "remediator_alerts_received_total", status="firing") == 2.0
    assert sample(client, "remediator_decisions_total", rule="restart-crashlooping-pod",
                  outcome="executed") == 1.0
    assert sample(client, "remediator_decisions_total", outcome="no_match") == 1.0
    assert sample(client, "remediator_action_results_total", action="kubernetes.delete_pod",
                  outcome="succeeded") == 1.0
    assert sample(client, "remediator_webhook_duration_seconds_count") == 1.0
    assert sample(client, "remediator_rules_loaded") == float(
        len(client.get("/api/v1/rules", headers=auth()).json()["rules"]))


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/-/healthy").status_code == 200
    assert client.get("/-/ready").status_code == 200


def test_page_lists_entries_and_escapes_untrusted_values(client: TestClient) -> None:
    hostile = crashloop(pod="<script>alert(1)</script>")
    hostile["annotations"]["runbook_url"] = "javascript:alert(1)"
    deliver(client, crashloop(), hostile)
    html = client.get("/audit", headers=auth(READ_TOKEN)).text
    assert "pod/apps-a/web-1" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert 'href="https://runbooks.example.org/runbooks/KubePodCrashLooping.md"' in html


def test_refuses_to_run_without_a_token_outside_dev(app_settings: dict[str, Any]) -> None:
    settings = load_settings(**{**app_settings, "webhook_token": None})
    with pytest.raises(ConfigurationError, match="--dev"):
        create_app(settings)


def test_refuses_to_start_on_bad_rules(tmp_path: Path, app_settings: dict[str, Any]) -> None:
    (tmp_path / "bad.yml").write_text("rules:\n  - name: x\n")
    app = create_app(load_settings(**{**app_settings, "rules": [str(tmp_path / "bad.yml")]}))
    with pytest.raises(RuleLoadError), TestClient(app):
        pass


def test_dev_mode_needs_no_token(app_settings: dict[str, Any]) -> None:
    app = create_app(load_settings(**{**app_settings, "webhook_token": None, "api_token": None,
                                      "dev": True}), scheduler=False)
    with TestClient(app) as client:
        assert client.post("/webhook/alertmanager", json=payload(crashloop())).status_code == 200
        assert client.get("/api/v1/audit").status_code == 200
