"""`remediator report effectiveness` over audit entries the real service wrote (SQLite).

Alerts go through the webhook, the worker runs the action (a recording action
of ours), the alerts resolve on a fake clock; the command then reads the
database as on-call would (break-glass, no service running).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from remediator.app.effectiveness_gauges import EffectivenessMetrics, refresh_effectiveness
from remediator.cli import app
from remediator.model.clock import FakeClock
from tests.support.payloads import START, crashloop
from tests.web.conftest import drain
from tests.web.test_api import deliver

SINCE = ["--since", "3650d"]  # the fake clock's START is in the past: cover it


def history(client: TestClient, clock: FakeClock) -> None:
    """web-1 restarted, resolved 5 min later, back 30 min after; an unremediated
    crash loop in `monitoring` (no rule matches) resolves by itself in 20 min."""
    clock.now = START
    deliver(client, crashloop())
    drain(client)
    deliver(client, crashloop(pod="prometheus-0", namespace="monitoring"))
    clock.advance(minutes=5)
    deliver(client, crashloop(status="resolved"))
    clock.advance(minutes=15)
    deliver(client, crashloop(pod="prometheus-0", namespace="monitoring", status="resolved"))
    clock.advance(minutes=15)
    again = START + timedelta(minutes=35)
    deliver(client, crashloop(starts_at=again))
    drain(client)
    clock.advance(minutes=2)
    deliver(client, crashloop(starts_at=again, status="resolved"))


def run(app_settings: dict[str, Any], *args: str) -> Any:
    return CliRunner(env={"COLUMNS": "250"}).invoke(
        app, ["report", "effectiveness", *SINCE, "--database-url", app_settings["database_url"],
              *args])


def test_json_has_the_figures_of_what_the_service_did(
        client: TestClient, clock: FakeClock, app_settings: dict[str, Any]) -> None:
    history(client, clock)
    result = run(app_settings, "--json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["rules"]
    assert (row["rule"], row["action"], row["executed"], row["succeeded"]) == (
        "restart-crashlooping-pod", "kubernetes.delete_pod", 2, 2)
    assert row["resolved"] == {"count": 2, "median_s": 120.0, "p90_s": 300.0}
    assert row["baseline"] == {"count": 1, "median_s": 1200.0, "p90_s": 1200.0}
    assert row["recurrence"]["1h"] == {"ratio": 0.5, "episodes": 2}
    assert row["top_targets"] == [{"target": "pod/apps-a/web-1", "actions": 2}]


def test_table_and_html(client: TestClient, clock: FakeClock, app_settings: dict[str, Any],
                        tmp_path: Path) -> None:
    history(client, clock)
    table = run(app_settings)
    assert table.exit_code == 0, table.output
    assert "restart-crashloop" in table.stdout and "20m00s" in table.stdout
    page = tmp_path / "e.html"
    written = run(app_settings, "--html", str(page))
    assert written.exit_code == 0, written.output
    html = page.read_text()
    assert "<svg" in html and "<script" not in html and "pod/apps-a/web-1" in html


def test_a_bad_since_is_an_error_naming_it(app_settings: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["report", "effectiveness", "--since", "a month",
                                      "--database-url", app_settings["database_url"]])
    assert result.exit_code == 2
    assert "--since" in result.output and "Traceback" not in result.output


def test_the_busiest_target_gauge_counts_actions_on_one_target_over_a_day(
        client: TestClient, clock: FakeClock) -> None:
    history(client, clock)
    services = client.app.state.services  # type: ignore[attr-defined]
    registry = CollectorRegistry()
    metrics = EffectivenessMetrics.create(registry=registry)
    assert refresh_effectiveness(services.database, metrics, clock()) == {
        "restart-crashlooping-pod": 2}
    assert registry.get_sample_value("remediator_rule_busiest_target_actions",
                                     {"rule": "restart-crashlooping-pod"}) == 2
    clock.advance(days=2)  # a day without actions: the rule drops out
    assert refresh_effectiveness(services.database, metrics, clock()) == {}
    assert registry.get_sample_value("remediator_rule_busiest_target_actions",
                                     {"rule": "restart-crashlooping-pod"}) is None


def test_an_unwritable_html_file_is_an_error_naming_it(
        client: TestClient, app_settings: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "missing" / "e.html"
    result = run(app_settings, "--html", str(target))
    assert result.exit_code == 2
    assert f"cannot write {target}" in result.output and "Traceback" not in result.output
