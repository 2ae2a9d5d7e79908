"""The detail page graphs the alert's expression from a real Prometheus (issue 25).

Prometheus serves two days old history backfilled with promtool; the app's
clock stands at that time. The alert's generatorURL names another host (a
listener that records connections): only its expression is used, sent to
PROMETHEUS_URL. A Prometheus that refuses connections or never answers
leaves the page served, with a one-line note, within seconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.clients.prometheus import Series
from remediator.model.clock import FakeClock
from remediator.web import graph
from remediator.web.app import create_app
from remediator.web.headers import CONSOLE_POLICY
from tests.support import promstack
from tests.support.payloads import crashloop, payload
from tests.web.conftest import READ_TOKEN, RecordingAction, auth, drain
from tests.web.test_console import sign_in

BASE = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
EXPR = 'sum by (pod) (graph_demo_restarts{namespace="apps-a"})'
SVG = "{http://www.w3.org/2000/svg}"


def history() -> str:
    """Two pods' restart counts every 30 s from BASE-1h to BASE+1h (OpenMetrics)."""
    lines = ["# TYPE graph_demo_restarts gauge"]
    for step in range(-120, 121):
        at = BASE.timestamp() + step * 30
        for pod, scale in (("web-1", 1.0), ("web-2", 0.5)):
            value = scale * max(0, 60 - abs(step))
            lines.append(f'graph_demo_restarts{{namespace="apps-a",pod="{pod}"}} {value} {at:.0f}')
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[promstack.Prometheus]:
    if promstack.prometheus_binary() is None:
        pytest.fail("Prometheus is not installed: run scripts/setup test")
    work = tmp_path_factory.mktemp("graph-history")
    promstack.backfill_openmetrics(history(), work)
    with promstack.run_prometheus(workdir=work, retention="30d") as running:
        yield running


@contextlib.contextmanager
def listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """An address that records every connection made to it (the generatorURL's host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


def app_client(tmp_path: Path, clock: FakeClock, **settings: Any) -> TestClient:
    base = {"rules": [str(Path(__file__).resolve().parents[2] / "rules")],
            "database_url": f"sqlite:///{tmp_path / 'r.db'}",
            "webhook_token": "s3cret-webhook-token", "api_token": READ_TOKEN}
    app = create_app(load_settings(**{**base, **settings}), scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": RecordingAction()}))
    return TestClient(app)


def acted(client: TestClient, clock: FakeClock, generator_host: str) -> str:
    """A crash-looping pod's alert whose generatorURL names `generator_host`; acted on."""
    alert = crashloop(starts_at=BASE - timedelta(minutes=5))
    alert["generatorURL"] = f"http://{generator_host}/graph?g0.expr={quote(EXPR)}&g0.tab=1"
    answer = client.post("/webhook/alertmanager", json=payload(alert), headers=auth()).json()
    drain(client)
    clock.advance(minutes=10)
    resolved = {**alert, "status": "resolved", "endsAt": clock().isoformat()}
    client.post("/webhook/alertmanager", json=payload(resolved), headers=auth())
    drain(client)
    clock.advance(minutes=40)
    sign_in(client, READ_TOKEN)
    rid: str = answer["decisions"][0]["remediation_id"]
    return rid


def graph_of(html: str) -> ET.Element:
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg"')
    return ET.fromstring(html[start:html.index("</svg>", start) + len("</svg>")])


def test_the_page_graphs_the_expression_with_the_action_marked(
        prometheus: promstack.Prometheus, tmp_path: Path) -> None:
    clock = FakeClock(BASE)
    with listener() as (elsewhere, connections), \
            app_client(tmp_path, clock, prometheus_url=prometheus.url) as client:
        rid = acted(client, clock, elsewhere)
        response = client.get(f"/remediations/{rid}")
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONSOLE_POLICY
        svg = graph_of(response.text)

        paths = [p for p in svg.iter(f"{SVG}path") if p.get("class") == "series"]
        assert len({p.get("stroke") for p in paths}) == 2  # web-1 and web-2
        legend = [t.text or "" for t in svg.iter(f"{SVG}text")]
        assert '{pod="web-1"}' in legend and '{pod="web-2"}' in legend
        marks = [m.find(f"{SVG}title").text or "" for m in svg.iter(f"{SVG}line")  # type: ignore[union-attr]
                 if m.get("class") == "marker"]
        assert any("succeeded" in m for m in marks), marks
        assert any("resolved" in m for m in marks), marks
        assert "<script" not in response.text.lower()
        assert connections == []  # the generatorURL's host was never contacted


def test_prometheus_down_still_serves_the_page_with_a_note(tmp_path: Path) -> None:
    clock = FakeClock(BASE)
    with listener() as (elsewhere, connections):
        closed = promstack.free_port()
        with app_client(tmp_path, clock,
                        prometheus_url=f"http://127.0.0.1:{closed}") as client:
            rid = acted(client, clock, elsewhere)
            began = time.monotonic()
            response = client.get(f"/remediations/{rid}")
            assert time.monotonic() - began < 3
        assert response.status_code == 200
        assert "No graph: Prometheus did not answer" in response.text
        assert "<svg" not in response.text
        assert connections == []


def test_a_stalled_prometheus_delays_the_page_once_by_seconds_at_most(tmp_path: Path) -> None:
    clock = FakeClock(BASE)
    with listener() as (stalled, asked), listener() as (elsewhere, connections), \
            app_client(tmp_path, clock, prometheus_url=f"http://{stalled}") as client:
        rid = acted(client, clock, elsewhere)
        worker_asked = len(asked)  # the worker's own queries (verification) come first
        began = time.monotonic()
        first = client.get(f"/remediations/{rid}")
        waited = time.monotonic() - began
        began = time.monotonic()
        again = client.get(f"/remediations/{rid}")
        reloaded = time.monotonic() - began
        assert waited < 6 and reloaded < 1, (waited, reloaded)
        for response in (first, again):
            assert response.status_code == 200
            assert "No graph: Prometheus did not answer" in response.text
        assert len(asked) - worker_asked == 1  # the failure is kept: the reload did not ask
        assert connections == []


def test_without_prometheus_url_the_page_says_so(tmp_path: Path) -> None:
    clock = FakeClock(BASE)
    with listener() as (elsewhere, connections), app_client(tmp_path, clock) as client:
        rid = acted(client, clock, elsewhere)
        response = client.get(f"/remediations/{rid}")
    assert response.status_code == 200
    assert "No graph: PROMETHEUS_URL is not configured." in response.text
    assert EXPR.replace('"', "&#34;") in response.text  # the expression, escaped
    assert connections == []


@pytest.mark.parametrize(("url", "expected"), [
    pytest.param(f"http://p:9090/graph?g0.expr={quote(EXPR)}&g0.tab=1", EXPR, id="graph-url"),
    pytest.param("https://p/prometheus/graph?g0.expr=up%20%3E%200", "up > 0", id="path-prefix"),
    pytest.param("http://p:9090/graph?g1.expr=up", None, id="no-first-graph"),
    pytest.param("http://p:9090/graph?g0.expr=%20%20", None, id="blank"),
    pytest.param("http://p/graph?g0.expr=" + "x" * 2001, None, id="too-long"),
    pytest.param("", None, id="empty"),
    pytest.param("http://[::1/graph?g0.expr=up", None, id="not-a-url"),
])
def test_only_the_expression_is_taken_from_generator_url(url: str, expected: str | None) -> None:
    assert graph.expression(url) == expected


def test_the_legend_names_what_tells_series_apart() -> None:
    series = [Series({"__name__": "x", "job": "a", "pod": p}, ()) for p in ("1", "2")]
    assert graph.labels(series) == ['{pod="1"}', '{pod="2"}']
    assert graph.labels(series[:1]) == ['{job="a", pod="1"}']
    assert graph.labels([]) == []
