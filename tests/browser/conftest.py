"""A real console in a real browser: uvicorn serving the app on a loopback port, the
official Kubernetes client against kmock's emulator, and Debian's Chromium driven
by playwright (which cannot download its own browser here).

Everything runs on the test's event loop: the emulator, the server and the
browser driver, so a Kubernetes call made from a worker thread is answered
while the test awaits the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from kubernetes.client import ApiClient
from playwright.async_api import Browser, Page, async_playwright

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.registry import ActionRegistry
from remediator.app.services import Services
from remediator.app.settings import load_settings
from remediator.web.app import create_app
from remediator.web.server import NO_FORWARDED
from tests.actions.conftest import client, cluster  # noqa: F401  (fixtures)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "browser-webhook-token"
READ_TOKEN = "browser-read-token"
RUNBOOK = "https://runbooks.example.org/KubePodCrashLooping.md"
PROMETHEUS = "https://prometheus.example.org/graph?g0.expr=kube_pod_crashlooping"

RULES = """
rules:
  - name: restart-crashlooping-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
    escalate:
      - {type: kubernetes.rollout_restart, kind: deployment, namespace: "{{ labels.namespace }}", name: "{{ labels.deployment }}"}
    approval: {required: true, timeout: 30m}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Console:
    url: str
    services: Services

    async def deliver(self, pod: str) -> dict[str, Any]:
        """Alertmanager's delivery of one crash-looping pod alert; its decision."""
        alert = {"status": "firing", "startsAt": "2026-01-01T12:00:00Z",
                 "endsAt": "0001-01-01T00:00:00Z", "generatorURL": PROMETHEUS,
                 "labels": {"alertname": "KubePodCrashLooping", "namespace": "apps-a",
                            "pod": pod, "deployment": "web", "severity": "warning"},
                 "annotations": {"summary": f"{pod} is crash-looping", "runbook_url": RUNBOOK}}
        body = {"version": "4", "groupKey": "g", "status": "firing", "receiver": "remediator",
                "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                "externalURL": "http://alertmanager", "truncatedAlerts": 0, "alerts": [alert]}
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{self.url}/webhook/alertmanager", json=body,
                                       headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        decision: dict[str, Any] = response.json()["decisions"][0]
        return decision


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, client: ApiClient,  # noqa: F811
                  **settings: Any) -> AsyncIterator[Console]:
    """The console on a free loopback port (example rules, SQLite, the kmock cluster),
    with these settings besides; stopped on exit."""
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    port = free_port()
    app = create_app(load_settings(rules=[str(rules)], webhook_token=TOKEN,
                                   database_url=f"sqlite:///{tmp_path / 'r.db'}",
                                   listen=f"127.0.0.1:{port}", **settings),
                     scheduler=False, actions=ActionRegistry(kubernetes_actions(client)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on",
                                           **NO_FORWARDED))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Console(url=f"http://127.0.0.1:{port}", services=app.state.services)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def console(tmp_path: Path, client: ApiClient) -> AsyncIterator[Console]:  # noqa: F811
    async with serving(tmp_path, client, api_token=READ_TOKEN,
                       alertmanager_external_url="https://alertmanager.example.org") as up:
        yield up


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    # The runbook and Prometheus are other sites: answer for them here, so following
    # a link is tested without the internet.
    await context.route("https://runbooks.example.org/**", lambda route: route.fulfill(
        content_type="text/html", body="<h1>Runbook: KubePodCrashLooping</h1>"))
    await context.route("https://prometheus.example.org/**", lambda route: route.fulfill(
        content_type="text/html", body="<h1>Prometheus graph</h1>"))
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()


async def sign_in(page: Page, console: Console, token: str) -> None:
    await page.goto(f"{console.url}/")
    assert "/login" in page.url
    await page.fill("input[name=token]", token)
    await page.click("button:text('sign in')")
    await page.wait_for_url(f"{console.url}/")
