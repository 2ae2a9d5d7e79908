"""The real pipeline: Prometheus evaluates alerts/, Alertmanager routes to the
service over HTTP with a bearer token, the service acts on kmock's Kubernetes
emulator through the official client, and asks Prometheus whether it worked.

Prometheus and Alertmanager are module-scoped (they take seconds to start);
each test starts its own service (uvicorn, in the test's event loop, so the
emulator keeps serving) on the port Alertmanager posts to, and uses its own
label values so tests do not see each other's alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import kmock
import pytest
import uvicorn
from kubernetes.client import Configuration

from remediator.actions.kubernetes.actions import close_api_client, kubernetes_actions
from remediator.actions.kubernetes.client import api_client
from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.web.app import create_app
from tests.support import promstack

ROOT = Path(__file__).resolve().parents[2]
ALERT_FILES = sorted(p for p in (ROOT / "alerts").glob("*.yml")
                     if p.name != "alertmanager.example.yml")
E2E_RULES = Path(__file__).parent / "rules" / "e2e.yml"
TOKEN = "e2e-webhook-token"
USED_ALERTS = {"KubePodCrashLooping", "HpaMaxedOut"}


@dataclass
class Stack:
    exporter: Any
    alertmanager: promstack.Alertmanager
    prometheus: promstack.Prometheus
    port: int

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook/alertmanager"


@contextlib.contextmanager
def prom_stack(tmp: Path, *, port: int, token: str, repeat_interval: str) -> Iterator[Stack]:
    with promstack.run_exporter() as exporter, promstack.run_alertmanager(
            webhook_url=f"http://127.0.0.1:{port}/webhook/alertmanager", bearer_token=token,
            repeat_interval=repeat_interval) as alertmanager, promstack.run_prometheus(
            rule_files=promstack.fast_rules(ALERT_FILES, tmp / "rules", alerts=USED_ALERTS),
            targets={"kube-state-metrics": [exporter.address]},
            alertmanager_url=alertmanager.url) as prometheus:
        yield Stack(exporter, alertmanager, prometheus, port)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with prom_stack(tmp_path_factory.mktemp("stack"), port=promstack.free_port(), token=TOKEN,
                    repeat_interval="2s") as running:
        yield running


@dataclass
class Service:
    url: str
    started_at: datetime

    async def audit(self, **params: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}/api/v1/audit", params=params,
                                        headers={"Authorization": f"Bearer {TOKEN}"})
        response.raise_for_status()
        items: list[dict[str, Any]] = response.json()["items"]
        return list(reversed(items))

    async def wait_for(self, outcome: str, *, count: int = 1, within: float = 60,
                       pod: str | None = None, **params: str) -> list[dict[str, Any]]:
        """Poll the audit log until `count` entries with `outcome` exist (bounded).

        `pod` keeps only entries about alerts on that pod: alerts of earlier
        tests may still fire (max_over_time keeps them for minutes).
        """
        deadline = asyncio.get_running_loop().time() + within
        while True:
            entries = [e for e in await self.audit(**params, limit="1000")
                       if e["outcome"] == outcome
                       and (pod is None or e["labels"].get("pod") == pod)]
            if len(entries) >= count:
                return entries
            if asyncio.get_running_loop().time() > deadline:
                seen = [e["outcome"] for e in await self.audit(**params)]
                raise AssertionError(f"no {count}x {outcome!r} within {within}s; saw {seen}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def run_service(port: int, database: Path, emulator: kmock.KubernetesEmulator,
                      **overrides: Any) -> AsyncIterator[Service]:
    settings = load_settings(**{
        "rules": [str(E2E_RULES)], "database_url": f"sqlite:///{database}",
        "webhook_token": TOKEN, "listen": f"127.0.0.1:{port}", "job_poll_interval": 0.2,
        "retry_backoff": 0.2, **overrides})
    client = api_client(Configuration(host=str(emulator.url).rstrip("/")))
    app = create_app(settings, actions=ActionRegistry(kubernetes_actions(client)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the service did not start"
        yield Service(f"http://127.0.0.1:{port}", datetime.now(UTC))
    finally:
        server.should_exit = True
        await task
        close_api_client(client)


@pytest.fixture
async def service(stack: Stack, kmock: kmock.KubernetesEmulator,
                  tmp_path: Path) -> AsyncIterator[Service]:
    async with run_service(stack.port, tmp_path / "r.db", kmock,
                           prometheus_url=stack.prometheus.url) as running:
        yield running


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator) -> Any:
    from tests.actions.conftest import Cluster

    return Cluster(kmock)
