"""A failed action's detail page reads summary first (issue 23), through the running app.

Four attempts at a delete the API server refuses leave eight identical
snapshots of an OOMKilled pod. The page shows the alert's labels at the top,
then what the evidence says (containers, the log tail, events folded, hints
with their facts), then the timeline; the snapshots' JSON is folded into one
block behind a <details> that needs no JavaScript.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.cli import app as cli
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.web.conftest import READ_TOKEN, auth
from tests.web.scenes import EvidenceSource, RefusedDelete, failed_with_evidence
from tests.web.test_console import sign_in


@pytest.fixture
def failing(app_settings: dict[str, Any], clock: FakeClock) -> Iterator[TestClient]:
    actions = ActionRegistry({"kubernetes.delete_pod": RefusedDelete(),
                              "kubernetes.snapshot": EvidenceSource(clock)})
    app = create_app(load_settings(**app_settings), scheduler=False, clock=clock,
                     actions=actions)
    with TestClient(app) as client:
        yield client


def between(html: str, start: str, end: str) -> str:
    found = re.search(re.escape(start) + "(.*?)" + re.escape(end), html, re.DOTALL)
    assert found is not None, (start, end)
    return found.group(1)


def test_labels_then_summary_then_timeline_then_folded_raw_json(
        failing: TestClient, clock: FakeClock) -> None:
    rid = failed_with_evidence(failing, clock)
    sign_in(failing, READ_TOKEN)
    html = failing.get(f"/remediations/{rid}").text

    order = [html.index(mark) for mark in (
        'id="state"', 'id="labels"', 'id="summary"', 'id="containers"', 'id="events"',
        'id="timeline"', '<details id="raw-evidence">')]
    assert order == sorted(order)
    labels = between(html, 'id="labels">', "</p>")
    assert '<span class="key">pod</span>=web-1' in labels
    assert '<span class="key">namespace</span>=apps-a' in labels

    raw = between(html, '<details id="raw-evidence">', "</details>")
    assert html.count('<pre class="evidence">') == raw.count('<pre class="evidence">') == 1
    assert "8 snapshot(s), 1 distinct" in raw
    assert "before \u00d74, failure \u00d74" in raw and "\u00d7 8" in raw
    assert "<details open" not in html  # folded until asked for


def test_summary_has_containers_log_tail_events_and_hint_facts(
        failing: TestClient, clock: FakeClock) -> None:
    rid = failed_with_evidence(failing, clock)
    sign_in(failing, READ_TOKEN)
    summary = between(failing.get(f"/remediations/{rid}").text, 'id="summary"', "</section>")

    containers = between(summary, 'id="containers"', "</table>")
    web = between(containers, "<tr><td>web", "</tr>")
    assert "CrashLoopBackOff" in web and "<strong>OOMKilled</strong>" in web
    assert "<td>137</td>" in web and "<td>7</td>" in web
    assert "panic: runtime error: out of memory" in between(summary, '<pre class="log">', "</pre>")

    events = between(summary, 'id="events"', "</table>")
    rows = re.findall(r"<tr><td>.*?</tr>", events, re.DOTALL)
    assert len(rows) == 2  # eight snapshots of two events: folded
    assert "Back-off restarting failed container web" in rows[0]  # newest first
    assert rows[0].startswith("<tr><td>31 ") and "(8 rows folded)" in rows[0]
    assert "<td>5m</td>" in rows[0]  # 30 s before the first snapshot, 5 minutes ago

    hint = between(summary, '<div class="hint">', "</div>")
    assert '<span class="badge hint-name">oom_killed</span>' in hint
    assert "container web was OOMKilled (exit code 137, 7 restarts)" in hint
    assert ("<dt>containers</dt><dd>name=web reason=OOMKilled exit_code=137 restarts=7"
            in hint)


def test_the_page_is_csp_clean_and_needs_no_script(failing: TestClient,
                                                   clock: FakeClock) -> None:
    rid = failed_with_evidence(failing, clock)
    sign_in(failing, READ_TOKEN)
    response = failing.get(f"/remediations/{rid}")
    policy = response.headers["content-security-policy"]
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy
    assert "<script" not in response.text and " style=" not in response.text
    assert "<style" not in response.text


def test_api_keeps_every_snapshot_and_adds_the_summary(failing: TestClient,
                                                       clock: FakeClock) -> None:
    rid = failed_with_evidence(failing, clock)
    body = failing.get(f"/api/v1/remediations/{rid}", headers=auth(READ_TOKEN)).json()

    assert body["state"] == "failed"
    assert [s["phase"] for s in body["evidence"]] == ["before", "failure"] * 4
    assert body["hints"][0]["name"] == "oom_killed"
    summary = body["summary"]
    assert summary["snapshots"] == 8
    assert summary["containers"][0] == {
        "name": "web", "image": "web:2.4.1", "init": False, "ready": False,
        "state": "waiting", "reason": "CrashLoopBackOff", "restarts": 7,
        "last_reason": "OOMKilled", "last_exit_code": 137,
        "last_finished_at": summary["containers"][0]["last_finished_at"]}
    assert [(e["reason"], e["count"], e["folded"]) for e in summary["events"]] == [
        ("BackOff", 31, 8), ("Pulled", 7, 8)]
    assert summary["hints"][0]["facts"][0]["name"] == "containers"
    assert summary["logs"][0]["lines"][-1] == "panic: runtime error: out of memory"


def test_audit_entries_carry_each_hints_facts_in_the_api_and_the_cli(
        failing: TestClient, clock: FakeClock, app_settings: dict[str, Any]) -> None:
    """Issue 23: a hint on an audit entry said what, not from which facts."""
    failed_with_evidence(failing, clock)
    expected = {"name": "oom_killed",
                "explanation": "container web was OOMKilled (exit code 137, 7 restarts): "
                               "it needs more memory or leaks",
                "facts": {"containers": [{"name": "web", "reason": "OOMKilled",
                                          "exit_code": 137, "restarts": 7,
                                          "finished_at": "2025-12-31T23:58:00Z"}]}}
    items = failing.get("/api/v1/audit", params={"outcome": "failed", "since":
                                                 "2025-12-31T00:00:00Z"},
                        headers=auth(READ_TOKEN)).json()["items"]
    assert len(items) == 4
    assert all(e["detail"]["hints"] == [expected] for e in items)

    result = CliRunner().invoke(cli, ["audit", "--json", "--outcome", "failed", "--since",
                                      "2025-12-31T00:00:00Z", "--database-url",
                                      app_settings["database_url"]])
    assert result.exit_code == 0, result.output
    assert [e["detail"]["hints"] for e in json.loads(result.output)] == [[expected]] * 4
