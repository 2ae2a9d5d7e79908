"""A failed action with its evidence, through the running app: what on-call opens at 3 a.m.

`EvidenceSource` is our own `kubernetes.snapshot` action answering with a
document shaped as the real snapshot gathers it (tests/evidence checks the
gathering itself against kmock); `RefusedDelete` is a delete the API server
keeps refusing (a transient error, so the worker retries it). Each attempt
snapshots the pod before acting and again after failing: four attempts leave
eight near-identical snapshots, the page the issue measured.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from remediator.model.actions import ActionError, ActionRequest, ActionResult
from remediator.model.clock import FakeClock
from tests.support.payloads import crashloop, payload
from tests.web.conftest import auth, drain

LOG = ["starting web 2.4.1", "loading config from /etc/web/config.yaml",
       "connecting to db with password=<redacted>", "cache warmed: 1200 keys",
       "allocating buffers", "panic: runtime error: out of memory"]


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def document(target: str, elapsed_ms: float, now: datetime) -> dict[str, Any]:
    """A pod crash-looping with OOMKilled, as `kubernetes.snapshot` summarises it."""
    def ago(minutes: float) -> str:
        return stamp(now - timedelta(minutes=minutes))

    return {
        "version": 1, "target": target, "elapsed_ms": elapsed_ms,
        "pod": {"name": "web-1", "namespace": "apps-a", "phase": "Running",
                "node": "n1", "startTime": ago(120),
                "conditions": [{"type": "Ready", "status": "False",
                                "reason": "ContainersNotReady"}]},
        "containers": [
            {"name": "web", "image": "web:2.4.1", "ready": False, "restartCount": 7,
             "state": {"state": "waiting", "reason": "CrashLoopBackOff"},
             "lastTermination": {"state": "terminated", "reason": "OOMKilled",
                                 "exitCode": 137, "finishedAt": ago(2)}},
            {"name": "sidecar", "image": "envoy:1.30", "ready": True, "restartCount": 0,
             "state": {"state": "running", "startedAt": ago(119)},
             "lastTermination": None}],
        "previous_logs": {"web": LOG},
        "events": [
            {"type": "Normal", "reason": "Pulled", "count": 7,
             "last": ago(3), "message": 'Container image "web:2.4.1" '
                                                       "already present on machine"},
            {"type": "Warning", "reason": "BackOff", "count": 31,
             "last": ago(0.5),
             "message": "Back-off restarting failed container web in pod web-1"}],
        "node": {"name": "n1", "unschedulable": False,
                 "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]},
    }


class EvidenceSource:
    """`kubernetes.snapshot`: the same pod each time, only the time it took differs.

    Its times are fixed at the first call, so every snapshot says the same."""

    def __init__(self, clock: FakeClock) -> None:
        self.calls = 0
        self.clock = clock
        self.first: datetime | None = None

    async def run(self, request: ActionRequest) -> ActionResult:
        self.calls += 1
        self.first = self.first or self.clock()
        return ActionResult(message=f"evidence for {request.target}",
                            detail=document(request.target, 40.0 + self.calls, self.first))


class RefusedDelete:
    """`kubernetes.delete_pod` that the API server keeps refusing (503: retried)."""

    async def run(self, request: ActionRequest) -> ActionResult:
        raise ActionError(f"deleting {request.target}: 503 Service Unavailable",
                          transient=True)


def failed_with_evidence(client: TestClient, clock: FakeClock) -> str:
    """Deliver a crash-looping pod's alert, let every retry fail; the remediation's id."""
    decisions = client.post("/webhook/alertmanager", json=payload(crashloop()), headers=auth()).json()
    rid: str = decisions["decisions"][0]["remediation_id"]
    for _ in range(5):
        drain(client)
        clock.advance(minutes=1)
    return rid
