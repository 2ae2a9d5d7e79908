"""The demo's Alertmanager: a scripted set of alerts, posted to the real webhook.

Once the service is ready it sends, as Alertmanager would (webhook payload
version 4, the bearer token when one is set), the alerts a monitoring stack
would raise for the scene: a crash-looping `cart` pod, `cart`'s HPA at its
maximum (under both the repository's and the stock alert name, so the
second meets the first one's cooldown), `checkout`'s stuck rollout, and
`encoder` near its memory limit. It then watches the emulated cluster and
sends `resolved` when an alert's condition is gone (the pod was replaced,
the rollout progresses), as Prometheus and Alertmanager would, so
verification finds the remediation worked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from remediator.demo import controller, scene
from remediator.demo.emulator import KmockObjects
from remediator.model.alerts import fingerprint

log = logging.getLogger(__name__)

RESOLVE_EVERY = 0.5
"""Seconds between two looks at the cluster for alerts whose condition is gone."""
READY_WITHIN = 60.0
RUNBOOKS = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/"

Firing = Callable[[KmockObjects], bool]


@dataclass(frozen=True)
class DemoAlert:
    labels: dict[str, str]
    summary: str
    firing: Firing | None = None
    """Whether it still fires, read from the cluster; None: it fires all along."""
    delay: float = 0.0
    """Seconds after the previous alert of the script."""

    def body(self, status: str, starts_at: datetime, now: datetime) -> dict[str, Any]:
        name = self.labels["alertname"]
        return {"status": status, "labels": self.labels,
                "annotations": {"summary": self.summary,
                                "runbook_url": RUNBOOKS + name.lower()},
                "startsAt": _rfc3339(starts_at),
                "endsAt": _rfc3339(now) if status == "resolved" else "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.demo:9090/graph?g0.expr=" + name,
                "fingerprint": fingerprint(self.labels)}


def _pod_exists(namespace: str, name: str) -> Firing:
    return lambda objects: objects.get(scene.PODS, namespace, name) is not None


def _rollout_stuck(namespace: str, name: str) -> Firing:
    def stuck(objects: KmockObjects) -> bool:
        found = objects.get(scene.DEPLOYMENTS, namespace, name)
        return found is not None and not controller.progressing(found)
    return stuck


CRASHING = scene.CART_PODS[1]
SCRIPT = (
    DemoAlert({"alertname": "KubePodCrashLooping", "severity": "warning",
               "namespace": scene.SHOP, "deployment": "cart", "pod": CRASHING,
               "container": "cart"},
              f"Pod {scene.SHOP}/{CRASHING} (cart) is in CrashLoopBackOff",
              _pod_exists(scene.SHOP, CRASHING)),
    DemoAlert({"alertname": "KubeDeploymentRolloutStuck", "severity": "warning",
               "namespace": scene.SHOP, "deployment": "checkout"},
              f"Rollout of deployment {scene.SHOP}/checkout is not progressing",
              _rollout_stuck(scene.SHOP, "checkout"), delay=1.0),
    DemoAlert({"alertname": "HpaMaxedOut", "severity": "warning", "namespace": scene.SHOP,
               "horizontalpodautoscaler": "cart"},
              f"HPA {scene.SHOP}/cart has been running at max replicas for 15 minutes",
              delay=1.0),
    DemoAlert({"alertname": "KubeHpaMaxedOut", "severity": "warning", "namespace": scene.SHOP,
               "horizontalpodautoscaler": "cart"},
              f"HPA {scene.SHOP}/cart has been running at max replicas for longer than 15 "
              "minutes", delay=2.0),
    DemoAlert({"alertname": "ContainerMemoryNearLimit", "severity": "warning",
               "namespace": scene.STREAM, "deployment": "encoder", "container": "encoder"},
              f"Containers of {scene.STREAM}/encoder use 93% of their memory limit",
              delay=1.0),
)


class DemoAlertmanager:
    """Sends `SCRIPT` to `webhook` once `ready` answers, then resolves what recovered."""

    def __init__(self, objects: KmockObjects, base_url: str, *, token: str | None,
                 script: tuple[DemoAlert, ...] = SCRIPT) -> None:
        self.objects = objects
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.script = script

    async def run(self) -> None:
        started = datetime.now(UTC) - timedelta(minutes=15)  # `for: 15m` of the alerts
        async with httpx.AsyncClient(base_url=self.base_url, headers=self.headers,
                                     timeout=10) as http:
            await self._ready(http)
            firing: list[DemoAlert] = []
            for alert in self.script:
                await asyncio.sleep(alert.delay)
                await self._post(http, alert, "firing", started)
                firing.append(alert)
            while firing:
                await asyncio.sleep(RESOLVE_EVERY)
                for alert in [a for a in firing if a.firing and not a.firing(self.objects)]:
                    await self._post(http, alert, "resolved", started)
                    firing.remove(alert)
                if not any(a.firing for a in firing):
                    return

    async def _ready(self, http: httpx.AsyncClient) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_WITHIN
        while loop.time() < deadline:
            try:
                if (await http.get("/-/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the service was not ready within {READY_WITHIN:g}s")

    async def _post(self, http: httpx.AsyncClient, alert: DemoAlert, status: str,
                    started: datetime) -> None:
        name = alert.labels["alertname"]
        body = {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}',
                "truncatedAlerts": 0, "status": status, "receiver": "remediator",
                "groupLabels": {"alertname": name}, "commonLabels": alert.labels,
                "commonAnnotations": {}, "externalURL": "http://alertmanager.demo:9093",
                "alerts": [alert.body(status, started, datetime.now(UTC))]}
        response = await http.post("/webhook/alertmanager", json=body)
        decided = [d.get("outcome") for d in response.json().get("decisions", [])] \
            if response.status_code == 200 else response.text[:200]
        log.info("demo alertmanager: %s %s -> %s %s", status, name, response.status_code,
                 decided)


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")
