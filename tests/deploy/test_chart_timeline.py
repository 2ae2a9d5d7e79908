"""The chart's incident timelines: keys from the user's Secret, mounted as files; the
rendered environment is what the service's settings accept (rendered by real Helm)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from remediator.app.chat import chat_problem
from remediator.app.settings import Settings
from remediator.app.timeline import timeline_sinks
from remediator.operate.chat.transport import Transport

from .chart import CHART, NAMESPACE, render, render_error
from .test_chart import container, env, mounts, volumes
from .validation import validate

TIMELINE: dict[str, Any] = {
    "timeline": {"existingSecret": "remediator-timeline",
                 "pagerduty": {"enabled": True, "match": ["severity=critical"]},
                 "opsgenie": {"enabled": True, "apiUrl": "https://api.eu.opsgenie.com",
                              "match": ["severity=~critical|page"],
                              "aliasLabel": "opsgenie_alias"},
                 "grafana": {"enabled": True, "url": "https://grafana.example.org"}}}


def test_the_timeline_values_lint_and_render_valid_objects() -> None:
    result = helm.lint(str(CHART), TIMELINE, strict=True, namespace=NAMESPACE,
                       kube_version="1.31.0")
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] > 1] == []
    for manifest in render(TIMELINE):
        validate(manifest.body)


def test_nothing_about_timelines_is_rendered_by_default() -> None:
    rendered = render()
    assert "timeline" not in volumes(rendered)
    assert not [name for name in env(rendered)
                if any(word in name for word in ("PAGERDUTY", "OPSGENIE", "GRAFANA"))]


def test_the_keys_are_mounted_as_files_never_in_the_environment() -> None:
    rendered = render(TIMELINE)
    volume = volumes(rendered)["timeline"]["secret"]
    assert volume["secretName"] == "remediator-timeline"
    assert volume["defaultMode"] == 0o440
    assert [item["key"] for item in volume["items"]] == [
        "pagerduty-routing-key", "opsgenie-api-key", "grafana-token"]
    assert mounts(rendered)["timeline"] == "/etc/remediator/timeline"
    found = env(rendered)
    assert found["REMEDIATOR_PAGERDUTY_ROUTING_KEY_FILE"] == (
        "/etc/remediator/timeline/pagerduty-routing-key")
    assert found["REMEDIATOR_OPSGENIE_MATCH"] == "severity=~critical|page"
    assert found["REMEDIATOR_OPSGENIE_ALIAS_LABEL"] == "opsgenie_alias"
    assert not any("secretKeyRef" in str(item) for item in container(rendered)["env"])


def test_enabling_a_timeline_without_its_secret_is_refused_by_name() -> None:
    assert "timeline.existingSecret" in render_error({"timeline": {"pagerduty": {
        "enabled": True}}})


def test_a_bad_matcher_is_refused_by_the_schema() -> None:
    assert "match" in render_error({"timeline": {"existingSecret": "s", "pagerduty": {
        "enabled": True, "match": ["severity"]}}})


def test_the_service_accepts_the_rendered_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = render(TIMELINE)
    for key in ("pagerduty-routing-key", "opsgenie-api-key", "grafana-token"):
        (tmp_path / key).write_text(f"{key}-value\n")
    for name in [n for n in os.environ if n.startswith("REMEDIATOR_")]:
        monkeypatch.delenv(name)
    for name, value in env(rendered).items():
        if name.startswith(("REMEDIATOR_PAGERDUTY", "REMEDIATOR_OPSGENIE",
                            "REMEDIATOR_GRAFANA")):
            monkeypatch.setenv(name, value.replace("/etc/remediator/timeline", str(tmp_path)))
    settings = Settings()
    assert settings.pagerduty_key() == "pagerduty-routing-key-value"
    assert settings.opsgenie_api_url == "https://api.eu.opsgenie.com"
    assert chat_problem(settings) is None
    sinks = timeline_sinks(settings, Transport(client=None))  # type: ignore[arg-type]
    assert [s.integration for s in sinks] == ["pagerduty", "opsgenie", "grafana"]
