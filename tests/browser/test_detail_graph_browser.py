"""The detail page's graph in Chromium (issue 25): drawn, under the unchanged policy.

A real Prometheus scrapes an exporter holding the alert's series; the console
asks it (PROMETHEUS_URL) for the expression in the alert's generatorURL. The
browser draws the inline SVG, reports no policy violation, and requests
nothing but the console's own origin (the generatorURL's host is another site).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient
from playwright.async_api import Page

from remediator.web.headers import CONSOLE_POLICY
from tests.actions.conftest import Cluster, pod
from tests.browser.conftest import TOKEN, Console, serving, sign_in
from tests.browser.test_csp import WATCH
from tests.support import promstack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def prometheus() -> Iterator[promstack.Prometheus]:
    if promstack.prometheus_binary() is None:
        pytest.fail("Prometheus is not installed: run scripts/setup test")
    with promstack.run_exporter() as exporter:
        exporter.set("kube_pod_crashlooping", 1, pod="web-1", namespace="apps-a")
        exporter.set("kube_pod_crashlooping", 3, pod="web-2", namespace="apps-a")
        with promstack.run_prometheus(targets={"test": [exporter.address]}) as running:
            running.wait_for_query("count_over_time(kube_pod_crashlooping[1m]) > 1")
            yield running


@pytest.fixture
async def graphed(tmp_path: Path, client: ApiClient,
                  prometheus: promstack.Prometheus) -> AsyncIterator[Console]:
    async with serving(tmp_path, client, prometheus_url=prometheus.url) as up:
        yield up


async def test_the_graph_is_drawn_without_violations_or_outside_requests(
        graphed: Console, page: Page, cluster: Cluster) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.add_init_script(WATCH)
    cluster.add(pod("web-1"))
    decision = await graphed.deliver("web-1")
    await sign_in(page, graphed, TOKEN)

    response = await page.goto(f"{graphed.url}/remediations/{decision['remediation_id']}")
    assert response is not None and response.ok
    assert await response.header_value("content-security-policy") == CONSOLE_POLICY
    graph = page.locator("#graph svg")
    box = await graph.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    section = await page.locator("#graph").inner_html()
    assert await page.locator("#graph svg path.series").count() == 2, section
    legend = await page.locator("#graph svg text").all_text_contents()
    assert '{pod="web-1"}' in legend and '{pod="web-2"}' in legend  # what tells them apart
    assert await page.evaluate("window.__violations") == []
    assert all(url.startswith(graphed.url) for url in requested), requested
