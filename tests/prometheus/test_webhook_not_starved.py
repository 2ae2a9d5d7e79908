"""A Prometheus that accepts connections and never answers does not slow the webhook.

The real app: every decided action runs its `only_if` against the stalled
Prometheus (on the Prometheus executor), while further deliveries keep being
answered promptly (the writer uses the default thread pool).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.web.app import create_app
from tests.support.payloads import crashloop, payload
from tests.web.conftest import TOKEN, RecordingAction, auth

RULES = """\
rules:
  - name: restart-if-prometheus-agrees
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
    only_if: {expr: 'up{pod="{{ labels.pod }}"}'}
    limits: {cooldown: 0s}
"""


@pytest.mark.slow
@pytest.mark.serial  # answer latencies on the wall clock
def test_webhook_answers_while_prometheus_stalls(tmp_path: Path, stalled_url: str) -> None:
    (tmp_path / "rules.yml").write_text(RULES)
    settings = load_settings(rules=[str(tmp_path / "rules.yml")],
                             database_url=f"sqlite:///{tmp_path / 'r.db'}",
                             webhook_token=TOKEN, prometheus_url=stalled_url,
                             prometheus_read_timeout=1.0, workers=8)
    action = RecordingAction()
    app = create_app(settings, scheduler=False,
                     actions=ActionRegistry({"kubernetes.delete_pod": action}))
    with TestClient(app) as client:
        # Eight actions, each waiting on Prometheus: more than the default pool's threads.
        first = [crashloop(f"web-{i}") for i in range(8)]
        assert client.post("/webhook/alertmanager", json=payload(*first),
                           headers=auth()).status_code == 200
        latencies = []
        for i in range(5):
            started = time.monotonic()
            response = client.post("/webhook/alertmanager",
                                   json=payload(crashloop(f"api-{i}")), headers=auth())
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
        assert max(latencies) < 1.0, latencies
        client.portal.call(client.app.state.services.worker.drain)  # type: ignore[attr-defined,union-attr]
        audit = client.get("/api/v1/audit", params={"outcome": "precondition_failed",
                                                     "limit": "100"}, headers=auth()).json()
    assert action.requests == []  # fail-closed: nothing acted without an answer
    assert len(audit["items"]) == 13
    assert "only_if.expr not evaluated" in audit["items"][0]["reason"]
