"""dashboards/: generated in sync, Grafana conventions, queries real Prometheus accepts."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.observability.catalog import (
    DASHBOARD_UIDS,
    DASHBOARDS_DIR,
    DATASOURCE,
    dashboards,
    exported_names,
    remediator_metrics_in,
    service_exposition,
)
from tests.support.promstack import Prometheus, query_error

PANEL_TYPES = frozenset({"timeseries", "stat", "table", "bargauge", "gauge", "state-timeline"})
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
DASHBOARDS = dashboards()


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboards_generate",
                                                  DASHBOARDS_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _panels() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, board in DASHBOARDS.items():
        for panel in board["panels"]:
            yield f"{name}:{panel['title']}", panel


def _queries() -> Iterator[tuple[str, str]]:
    for where, panel in _panels():
        for target in panel["targets"]:
            yield f"{where}:{target['refId']}", target["expr"]


PANELS = dict(_panels())
QUERIES = dict(_queries())


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_committed_json_is_what_the_generator_writes() -> None:
    rendered = _generator().render()
    assert set(rendered) == set(DASHBOARD_UIDS)
    for name, text in rendered.items():
        assert (DASHBOARDS_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run python dashboards/generate.py")


@pytest.mark.parametrize("name", sorted(DASHBOARD_UIDS))
def test_dashboard_has_stable_uid_and_schema_version(name: str) -> None:
    board = DASHBOARDS[name]
    assert board["uid"] == DASHBOARD_UIDS[name]
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["title"] and board["panels"]


@pytest.mark.parametrize("name", sorted(DASHBOARD_UIDS))
def test_dashboard_has_one_datasource_variable_used_everywhere(name: str) -> None:
    board = DASHBOARDS[name]
    variables = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert [(v["name"], v["query"]) for v in variables] == [("datasource", "prometheus")]
    datasources = [value for key, value in _walk(board) if key == "datasource"]
    assert datasources, "no datasource references"
    assert all(value == DATASOURCE for value in datasources), "a hard-coded datasource"


@pytest.mark.parametrize("name", sorted(DASHBOARD_UIDS))
def test_panel_ids_are_unique_and_panels_do_not_overlap(name: str) -> None:
    panels = DASHBOARDS[name]["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("where", sorted(PANELS))
def test_panel_is_current_type_with_unit_description_and_datasource(where: str) -> None:
    panel = PANELS[where]
    assert panel["type"] in PANEL_TYPES, f"deprecated or unexpected type {panel['type']}"
    assert panel["description"].strip()
    assert panel["fieldConfig"]["defaults"]["unit"]
    assert panel["datasource"] == DATASOURCE
    assert panel["targets"]
    assert all(target["datasource"] == DATASOURCE for target in panel["targets"])


@pytest.mark.parametrize("where", sorted(QUERIES))
def test_every_range_is_the_rate_interval(where: str) -> None:
    ranges = re.findall(r"\[([^\]]*)\]", QUERIES[where])
    assert all(r == "$__rate_interval" for r in ranges), f"fixed range in {QUERIES[where]}"
    if re.search(r"\b(rate|irate|increase)\(", QUERIES[where]):
        assert ranges, "rate/increase without a range"


def _dashboard_metrics() -> set[str]:
    return set().union(*(remediator_metrics_in(expr) for expr in QUERIES.values()))


def test_dashboard_metrics_are_in_the_metrics_registry() -> None:
    exported = exported_names(service_exposition())
    used = _dashboard_metrics()
    assert used, "the overview dashboard queries no remediator_ metric"
    assert used <= exported, f"not exported: {sorted(used - exported)}"


def _create_app() -> Any:
    from remediator.web.app import create_app

    return create_app


def test_dashboard_metrics_are_served_by_the_running_service(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from remediator.app.settings import load_settings

    create_app = _create_app()
    rules = Path(__file__).resolve().parents[2] / "rules"
    settings = load_settings(rules=[str(rules)], database_url=f"sqlite:///{tmp_path}/r.db",
                             dev=True)
    with TestClient(create_app(settings)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    exported = exported_names(response.text)
    used = _dashboard_metrics()
    assert used <= exported, f"not served on /metrics: {sorted(used - exported)}"


@pytest.mark.e2e
@pytest.mark.parametrize("where", sorted(QUERIES))
def test_query_is_accepted_by_prometheus(where: str, prometheus: Prometheus) -> None:
    expr = QUERIES[where]
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    assert query_error(prometheus.url, expr) is None, expr
