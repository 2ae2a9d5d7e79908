"""Every shipped dashboard marks when remediator acted (issue 25), from its own counters.

The annotations' expressions name only metrics the service exports, and each
one's title placeholders are labels its `sum by` keeps. Against a real
Prometheus: the service's own /metrics, before and after it acted (and once
more after a second increment), backfilled as history; each annotation query
marks the moment, naming the action, rule and outcome, and nothing before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.observability.catalog import (
    DASHBOARD_UIDS,
    DATASOURCE,
    dashboards,
    exported_names,
    remediator_metrics_in,
    service_exposition,
)
from tests.support import promstack
from tests.support.payloads import crashloop, payload
from tests.web.conftest import RecordingAction, drain

BOARDS = dashboards()
NAMES = ["remediator actions", "remediator decisions to act", "remediator verifications"]
TOKEN = "s3cret-webhook-token"
BASE = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
COUNTERS = ("remediator_action_results", "remediator_decisions", "remediator_verifications")


def annotations(name: str) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in BOARDS[name]["annotations"]["list"]}


@pytest.mark.parametrize("name", sorted(DASHBOARD_UIDS))
def test_every_dashboard_has_the_remediator_annotations(name: str) -> None:
    found = annotations(name)
    assert list(found) == NAMES
    for annotation in found.values():
        assert annotation["datasource"] == DATASOURCE and annotation["enable"] is True
        kept = {label.strip() for group in re.findall(r"sum by \(([^)]*)\)", annotation["expr"])
                for label in group.split(",")}
        shown = set(re.findall(r"\{\{(\w+)\}\}",
                               annotation["titleFormat"] + annotation["textFormat"]))
        assert shown and shown <= kept, annotation["expr"]
        assert set(annotation["tagKeys"].split(",")) <= kept


def test_annotation_metrics_are_exported_by_the_service() -> None:
    exported = exported_names(service_exposition())
    for name in DASHBOARD_UIDS:
        for annotation in annotations(name).values():
            used = remediator_metrics_in(annotation["expr"])
            assert used and used <= exported, sorted(used - exported)


def _counters(exposition: str, bump: float = 0) -> list[tuple[str, str, float]]:
    """(family, series text, value) of the three counters in a /metrics page."""
    out = []
    for family in text_string_to_metric_families(exposition):
        if family.name not in COUNTERS:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                out.append((family.name, f"{sample.name}{{{labels}}}", sample.value + bump))
    return out


def openmetrics(pages: list[tuple[int, int, list[tuple[str, str, float]]]]) -> str:
    """Scrapes every 30 s: each (from minute, to minute, samples) holds for its minutes."""
    lines = []
    for family in COUNTERS:
        lines.append(f"# TYPE {family} counter")
        for first, last, samples in pages:
            for second in range(first * 60, last * 60, 30):
                at = BASE.timestamp() + second
                lines += [f"{series} {value} {at:.0f}"
                          for name, series, value in samples if name == family]
    return "\n".join([*lines, "# EOF", ""])


def scraped(tmp_path: Path) -> tuple[str, str]:
    """The service's /metrics before and after it acted on an alert, verified, saw it resolve."""
    clock = FakeClock(BASE)
    settings = load_settings(rules=[str(Path(__file__).resolve().parents[2] / "rules")],
                             database_url=f"sqlite:///{tmp_path / 'r.db'}", webhook_token=TOKEN)
    app = create_app(settings, scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": RecordingAction()}))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app) as client:
        before = client.get("/metrics").text
        alert = crashloop()
        client.post("/webhook/alertmanager", json=payload(alert), headers=headers)
        drain(client)
        clock.advance(minutes=1)
        resolved = {**alert, "status": "resolved", "endsAt": clock().isoformat()}
        client.post("/webhook/alertmanager", json=payload(resolved), headers=headers)
        clock.advance(minutes=15)  # the verification is due: the alert resolved
        drain(client)
        return before, client.get("/metrics").text


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[promstack.Prometheus]:
    if promstack.prometheus_binary() is None:
        pytest.fail("Prometheus is not installed: run scripts/setup test")
    before, after = scraped(tmp_path_factory.mktemp("service"))
    work = tmp_path_factory.mktemp("annotations")
    promstack.backfill_openmetrics(openmetrics([
        (-20, 0, _counters(before)), (0, 10, _counters(after)),
        (10, 20, _counters(after, bump=1))]), work)
    with promstack.run_prometheus(workdir=work, retention="30d") as running:
        yield running


def marks(prom: promstack.Prometheus, expr: str) -> list[tuple[dict[str, str], list[float]]]:
    """(labels, minutes after BASE) where the annotation query has a value."""
    body = httpx.get(f"{prom.url}/api/v1/query_range", timeout=10, params={
        "query": expr, "start": str(BASE.timestamp() - 900),
        "end": str(BASE.timestamp() + 1200), "step": "60"}).json()
    assert body["status"] == "success", body
    return [(r["metric"], [(float(t) - BASE.timestamp()) / 60 for t, _ in r["values"]])
            for r in body["data"]["result"]]


@pytest.mark.e2e
@pytest.mark.parametrize("name", NAMES)
def test_the_annotation_marks_the_first_and_the_next_increment(
        name: str, history: promstack.Prometheus) -> None:
    expr = annotations("remediator-overview.json")[name]["expr"]
    found = marks(history, expr)
    assert found, f"{name}: no mark at all"
    for labels, minutes in found:
        assert {"outcome"} <= set(labels) and ("action" in labels or "rule" in labels)
        assert all(0 <= m <= 2 or 10 <= m <= 12 for m in minutes), (labels, minutes)
        assert any(m <= 2 for m in minutes) and any(m >= 10 for m in minutes), minutes
    titles = {labels.get("action") or labels.get("rule") for labels, _ in found}
    assert titles & {"kubernetes.delete_pod", "restart-crashlooping-pod"}
