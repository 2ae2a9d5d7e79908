"""Incident timelines: each action and its outcome posted to PagerDuty (change events),
Opsgenie (notes on the alert, by alias) and Grafana (annotations), in each API's
documented shape; only for the alerts that came through PagerDuty/Opsgenie."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from remediator.app.settings import load_settings
from tests.integrations.conftest import EXTERNAL
from tests.integrations.timeline_support import (
    GENIE_KEY,
    GF_URL,
    GRAFANA_TOKEN,
    OG_NOTES,
    PD_URL,
    ROUTING_KEY,
    posted,
    relay,
)
from tests.integrations.timeline_support import timeline_api as timeline_api
from tests.integrations.timeline_support import timeline_client as timeline_client
from tests.integrations.timeline_support import timeline_settings as timeline_settings
from tests.support.payloads import crashloop, payload
from tests.web.conftest import auth, drain
from tests.web.test_api import sample

GROUP_KEY = '{}/{severity="critical"}:{alertname="KubePodCrashLooping"}'


def critical(pod: str = "web-1", severity: str = "critical") -> dict[str, Any]:
    alert = crashloop(pod=pod)
    alert["labels"]["severity"] = severity
    return alert


def deliver(client: TestClient, *alerts: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/webhook/alertmanager", json=payload(*alerts, group_key=GROUP_KEY),
                           headers=auth())
    assert response.status_code == 200
    decisions: list[dict[str, Any]] = response.json()["decisions"]
    return decisions


def test_each_action_and_outcome_reaches_the_three_timelines(
        timeline_client: TestClient, timeline_api: respx.MockRouter) -> None:
    rid = deliver(timeline_client, critical())[0]["remediation_id"]
    drain(timeline_client)
    relay(timeline_client)
    events = posted(timeline_api, PD_URL)
    outcomes = [body["payload"]["custom_details"]["outcome"] for _, body in events]
    assert outcomes[:2] == ["executed", "succeeded"]
    request, body = events[0]
    assert body["routing_key"] == ROUTING_KEY
    assert body["payload"]["source"] == "remediator"
    assert body["payload"]["summary"].startswith("remediator: kubernetes.delete_pod")
    assert body["payload"]["timestamp"].startswith("20")
    assert body["payload"]["custom_details"]["remediation"] == rid
    assert body["links"] == [{"href": f"{EXTERNAL}/remediations/{rid}",
                              "text": f"remediation {rid[:8]}"}]
    notes = posted(timeline_api, OG_NOTES)
    alias = hashlib.sha256(GROUP_KEY.encode()).hexdigest()  # Alertmanager's Key.Hash()
    request, body = notes[0]
    assert request.url.path == f"/v2/alerts/{alias}/notes"
    assert request.url.params["identifierType"] == "alias"
    assert request.headers["Authorization"] == f"GenieKey {GENIE_KEY}"
    assert body["source"] == "remediator" and "executed" in body["note"]
    assert len(notes) == len(events)
    annotations = posted(timeline_api, GF_URL)
    request, body = annotations[0]
    assert request.headers["Authorization"] == f"Bearer {GRAFANA_TOKEN}"
    assert set(body["tags"]) >= {"remediator", "namespace:apps-a",
                                 "rule:restart-crashlooping-pod",
                                 "alertname:KubePodCrashLooping", "outcome:executed"}
    assert isinstance(body["time"], int) and rid[:8] in body["text"]
    assert sample(timeline_client, "remediator_timeline_posts_total", integration="grafana",
                  result="sent") == len(annotations)


def test_only_alerts_that_came_through_pagerduty_are_posted_there(
        timeline_client: TestClient, timeline_api: respx.MockRouter) -> None:
    deliver(timeline_client, critical(severity="warning"))
    drain(timeline_client)
    relay(timeline_client)
    assert posted(timeline_api, PD_URL) == []
    assert posted(timeline_api, OG_NOTES) == []
    assert posted(timeline_api, GF_URL)  # Grafana has no matcher: every alert


def test_opsgenie_alias_from_a_label(timeline_settings: dict[str, Any],
                                     timeline_api: respx.MockRouter, tmp_path: Any,
                                     recorder: Any, clock: Any) -> None:
    from remediator.actions.registry import ActionRegistry
    from remediator.web.app import create_app

    timeline_settings["opsgenie_alias_label"] = "opsgenie_alias"
    app = create_app(load_settings(**timeline_settings), scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    with TestClient(app) as client:
        relay(client)
        alert = critical()
        alert["labels"]["opsgenie_alias"] = "pay/../db outage"
        deliver(client, alert)
        relay(client)
    request, _ = posted(timeline_api, OG_NOTES)[0]
    assert request.url.raw_path.startswith(b"/v2/alerts/pay%2F..%2Fdb%20outage/notes")


@pytest.mark.parametrize(("setting", "value"), [("pagerduty_match", "severity"),
                                               ("opsgenie_match", "team=~(unclosed")])
def test_a_bad_matcher_is_refused_naming_the_setting(timeline_settings: dict[str, Any],
                                                     setting: str, value: str) -> None:
    timeline_settings[setting] = value
    with pytest.raises(ValueError) as raised:
        load_settings(**timeline_settings)
    assert setting in str(raised.value)
