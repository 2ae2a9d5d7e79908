"""What the web layer counts: deliveries and their latency, refused requests and
sign-ins, operator actions (and the approval answers given through it).

The app (`web.app`) builds this group on the services' registry when it
starts (`WebMetrics.of`), so /metrics serves it beside the others; `approvals` is operate's
counter (`ApprovalMetrics`), handed in. Handlers reach the group with
`web_metrics(request)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Histogram

from remediator.app.metrics import Metrics

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class WebMetrics:
    deliveries: Counter
    webhook_duration: Histogram
    unauthenticated_requests: Counter
    login_failures: Counter
    operator_actions: Counter
    approvals: Counter
    """Not the web's own: operate's (`ApprovalMetrics.approvals`), handed in."""

    @classmethod
    def create(cls, *, registry: CollectorRegistry, approvals: Counter) -> WebMetrics:
        return cls(
            deliveries=Counter(
                "remediator_webhook_deliveries", "Webhook deliveries, by HTTP status code.",
                ["code"], registry=registry),
            webhook_duration=Histogram(
                "remediator_webhook_duration_seconds",
                "Webhook latency from request to durable decision.",
                buckets=_LATENCY_BUCKETS, registry=registry),
            unauthenticated_requests=Counter(
                "remediator_unauthenticated_requests",
                "Requests refused for a missing or wrong token, by endpoint.",
                ["endpoint"], registry=registry),
            login_failures=Counter(
                "remediator_login_failures",
                "Console sign-ins refused: a wrong token, or throttled (429), by reason.",
                ["reason"], registry=registry),
            operator_actions=Counter(
                "remediator_operator_actions", "Operator actions (pause, approve...), by action.",
                ["action"], registry=registry),
            approvals=approvals,
        )

    @classmethod
    def of(cls, metrics: Metrics) -> WebMetrics:
        """This group on the services' registry, handed operate's approvals counter."""
        return cls.create(registry=metrics.registry, approvals=metrics.approvals.approvals)


def web_metrics(request: Request) -> WebMetrics:
    """The running app's group (set by `web.app` when it starts)."""
    found: WebMetrics = request.app.state.metrics
    return found
