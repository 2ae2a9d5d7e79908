"""A failed action's detail page in Chromium: summary first, short, policy-clean (issue 23).

The real snapshot action reads a crash-looping, OOMKilled pod from kmock's
emulator (logs and events declared), and the API server throttles every
delete (429: provably not applied, so retried): the worker tries four times: eight snapshots, the page
that measured 3,766 px at 1280 px wide. It must now fit well under 1,500 px
with the raw JSON folded, and open that JSON natively (<details>, no script).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import kmock
import pytest
import uvicorn
from kubernetes.client import ApiClient
from playwright.async_api import Page

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from remediator.web.server import NO_FORWARDED
from tests.actions.test_kubernetes_errors import status
from tests.browser.conftest import READ_TOKEN, TOKEN, Console, free_port, sign_in
from tests.browser.test_csp import WATCH
from tests.evidence.conftest import NOW, Seeded, crashlooping_pod, declare_logs

pytestmark = pytest.mark.browser

RULES = """
rules:
  - name: restart-crashlooping-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
"""
POD = "web-b2-x1"
MAX_HEIGHT = 1500


@pytest.fixture
async def failing(tmp_path: Path, client: ApiClient,
                  kmock: kmock.KubernetesEmulator,
                  ) -> AsyncIterator[tuple[Console, FakeClock, Seeded]]:
    seeded = Seeded(kmock)
    seeded.scene()
    declare_logs(kmock)
    kmock["delete", kmock.resource("v1/pods")] << 429 << status(429, "too many requests")
    (tmp_path / "rules.yml").write_text(RULES)
    clock = FakeClock(NOW + timedelta(minutes=10))
    port = free_port()
    settings = load_settings(rules=[str(tmp_path / "rules.yml")],
                             database_url=f"sqlite:///{tmp_path / 'r.db'}",
                             webhook_token=TOKEN, api_token=READ_TOKEN,
                             listen=f"127.0.0.1:{port}")
    app = create_app(settings, scheduler=False, clock=clock,
                     actions=ActionRegistry(kubernetes_actions(client, clock=clock)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on",
                                           **NO_FORWARDED))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Console(url=f"http://127.0.0.1:{port}", services=app.state.services), clock, seeded
    finally:
        server.should_exit = True
        await task


async def test_a_failed_actions_page_is_summary_first_and_short(
        failing: tuple[Console, FakeClock, Seeded], page: Page) -> None:
    console, clock, seeded = failing
    decision = await console.deliver(POD)
    for _ in range(5):  # the first attempt and its three retries, each after its backoff
        await console.services.worker.drain()
        # The emulator deletes before its reaction answers 429; an API server that
        # throttles keeps the pod, so it is put back.
        seeded.add("v1/pods", crashlooping_pod())
        clock.advance(minutes=1)
    await page.add_init_script(WATCH)
    await page.set_viewport_size({"width": 1280, "height": 800})
    await sign_in(page, console, READ_TOKEN)
    await page.goto(f"{console.url}/remediations/{decision['remediation_id']}")

    assert await page.inner_text("#state") == "failed", await page.inner_text("#timeline")
    assert await page.locator("#raw-evidence pre.evidence").count() >= 1
    assert "8 snapshot(s)" in await page.inner_text("#raw-evidence summary")
    height = await page.evaluate("document.documentElement.scrollHeight")
    print(f"detail page height at 1280 px: {height} px")  # the figure for the issue
    assert height < MAX_HEIGHT
    top = await page.evaluate("document.querySelector('#labels').getBoundingClientRect().top")
    assert top < 200  # the alert's labels are in the first screen
    assert "OOMKilled" in await page.inner_text("#containers")  # as seen before the delete
    assert "panic: out of memory" in await page.inner_text("#summary pre.log")
    assert "BackOff" in await page.inner_text("#events")
    assert "oom_killed" in await page.inner_text("#hints")
    assert not await page.locator("#raw-evidence pre.evidence").first.is_visible()

    await page.click("#raw-evidence summary")  # native disclosure, no script of ours
    assert await page.locator("#raw-evidence pre.evidence").first.is_visible()
    assert await page.evaluate("window.__violations") == []
