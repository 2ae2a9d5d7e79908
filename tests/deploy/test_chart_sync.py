"""The chart's copies of alerts, dashboards and example rules never drift from the repo.

A chart cannot read outside its directory, so scripts/sync-chart copies
them into helm/remediator/files/; this test fails when a copy differs or is
missing, and the PrometheusRule and dashboard ConfigMaps are checked to
carry exactly those files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .chart import CHART, REPO, render

FILES = CHART / "files"


def sources() -> dict[str, list[Path]]:
    return {
        "alerts": sorted(p for p in (REPO / "alerts").glob("*.yml")
                         if p.name != "alertmanager.example.yml"),
        "dashboards": sorted((REPO / "dashboards").glob("*.json")),
        "rules": sorted(p for p in (REPO / "rules").glob("*.yml")
                        if not p.name.endswith(".test.yml")),
    }


@pytest.mark.parametrize("kind", ["alerts", "dashboards", "rules"])
def test_chart_copies_equal_their_sources(kind: str) -> None:
    expected = {p.name: p.read_bytes() for p in sources()[kind]}
    copied = {p.name: p.read_bytes() for p in sorted((FILES / kind).iterdir())}
    assert expected, f"no {kind} in the repository"
    assert sorted(copied) == sorted(expected), "run scripts/sync-chart"
    for name, content in expected.items():
        assert copied[name] == content, f"files/{kind}/{name} differs: run scripts/sync-chart"


def test_prometheus_rule_carries_every_alert_group() -> None:
    groups = render().one("PrometheusRule")["spec"]["groups"]
    expected = [g for p in sources()["alerts"] for g in yaml.safe_load(p.read_text())["groups"]]
    assert groups == expected


def test_one_dashboard_configmap_per_dashboard_for_grafanas_sidecar() -> None:
    maps = [c for c in render().of_kind("ConfigMap")
            if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    by_file = {name: json.loads(text) for c in maps for name, text in c["data"].items()}
    assert len(maps) == len(sources()["dashboards"])
    assert by_file == {p.name: json.loads(p.read_text()) for p in sources()["dashboards"]}


def test_dashboards_can_go_to_grafanas_namespace() -> None:
    maps = [c for c in render({"dashboards": {"namespace": "monitoring"}}).of_kind("ConfigMap")
            if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert {c["metadata"]["namespace"] for c in maps} == {"monitoring"}
