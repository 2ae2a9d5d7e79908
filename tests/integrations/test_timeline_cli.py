"""`remediator notify test pagerduty|opsgenie|grafana`: one sample through the service's
own sink and settings; what the server answered, in one line; never the key."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from remediator.cli.commands import app
from tests.integrations.conftest import write
from tests.integrations.timeline_support import (
    GENIE_KEY,
    GF_URL,
    GRAFANA,
    GRAFANA_TOKEN,
    OG_NOTES,
    PD_URL,
    ROUTING_KEY,
)

runner = CliRunner()


@pytest.fixture
def timeline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEDIATOR_PAGERDUTY_ROUTING_KEY_FILE", write(tmp_path, "pd",
                                                                      ROUTING_KEY))
    monkeypatch.setenv("REMEDIATOR_PAGERDUTY_MATCH", "severity=critical,team!=none")
    monkeypatch.setenv("REMEDIATOR_OPSGENIE_API_KEY_FILE", write(tmp_path, "og", GENIE_KEY))
    monkeypatch.setenv("REMEDIATOR_GRAFANA_URL", GRAFANA)
    monkeypatch.setenv("REMEDIATOR_GRAFANA_TOKEN_FILE", write(tmp_path, "gf", GRAFANA_TOKEN))


@respx.mock
def test_pagerduty_sample_is_a_change_event(timeline_env: None) -> None:
    route = respx.post(PD_URL).respond(202, json={"status": "success",
                                                  "message": "Change event processed"})
    result = runner.invoke(app, ["notify", "test", "pagerduty"])
    assert result.exit_code == 0, result.output
    assert "pagerduty: sent a change event to the PagerDuty service" in result.output
    body = json.loads(route.calls.last.request.content)
    assert body["routing_key"] == ROUTING_KEY and "notify test" in body["payload"]["summary"]


@respx.mock
def test_opsgenie_sample_is_a_note_on_the_named_alert(timeline_env: None) -> None:
    route = respx.post(url__startswith=OG_NOTES).respond(
        202, json={"result": "Request will be processed", "took": 0.1, "requestId": "r1"})
    result = runner.invoke(app, ["notify", "test", "opsgenie", "--alias", "db-outage"])
    assert result.exit_code == 0, result.output
    assert "a note to the Opsgenie alert with alias 'db-outage'" in result.output
    assert route.calls.last.request.url.path == "/v2/alerts/db-outage/notes"


@respx.mock
def test_an_unknown_alias_says_what_to_do(timeline_env: None) -> None:
    respx.post(url__startswith=OG_NOTES).respond(
        404, json={"message": "Alert does not exist", "took": 0.0, "requestId": "r2"})
    result = runner.invoke(app, ["notify", "test", "opsgenie"])
    assert result.exit_code == 1
    assert "HTTP 404 (Alert does not exist)" in result.output
    assert "pass --alias of an open alert" in result.output


@respx.mock
def test_grafana_refusal_says_what_to_do_and_not_the_token(timeline_env: None) -> None:
    respx.post(GF_URL).respond(403, json={"message": "Permission denied"})
    result = runner.invoke(app, ["notify", "test", "grafana"])
    assert result.exit_code == 1
    assert "grafana: not sent: grafana annotation: HTTP 403" in result.output
    assert "annotations:write" in result.output
    assert GRAFANA_TOKEN not in result.output


@respx.mock
def test_pagerduty_down_is_said(timeline_env: None) -> None:
    respx.post(PD_URL).mock(side_effect=httpx.ConnectError("refused"))
    result = runner.invoke(app, ["notify", "test", "pagerduty"])
    assert result.exit_code == 1
    assert "pagerduty: not sent: ConnectError: refused after 2 attempt(s)" in result.output
    assert ROUTING_KEY not in result.output


def test_an_unconfigured_timeline_says_what_to_set() -> None:
    result = runner.invoke(app, ["notify", "test", "grafana"])
    assert result.exit_code == 2
    assert "REMEDIATOR_GRAFANA_URL and REMEDIATOR_GRAFANA_TOKEN_FILE" in " ".join(
        result.output.split())
