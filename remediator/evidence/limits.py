"""What a snapshot may cost, and the request that asks for one (no client imports here).

The worker's preflight imports only this: a service without a cluster does
not pay for importing the Kubernetes client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remediator.model.actions import ActionRequest

SNAPSHOT_ACTION = "kubernetes.snapshot"


@dataclass(frozen=True, kw_only=True)
class Limits:
    budget: float = 2.0
    max_bytes: int = 64 * 1024
    log_lines: int = 50

    def params(self) -> dict[str, Any]:
        return {"budget": self.budget, "max_bytes": self.max_bytes,
                "log_lines": self.log_lines}

    @classmethod
    def from_params(cls, params: Any) -> Limits:
        return cls(budget=float(params.get("budget", 2.0)),
                   max_bytes=int(params.get("max_bytes", 64 * 1024)),
                   log_lines=int(params.get("log_lines", 50)))


def snapshot_request(target: ActionRequest, limits: Limits) -> ActionRequest:
    """The request for a snapshot of `target` (same kind, namespace and name)."""
    return ActionRequest(type=SNAPSHOT_ACTION, kind=target.kind, namespace=target.namespace,
                         name=target.name, params=limits.params(), timeout=limits.budget)
