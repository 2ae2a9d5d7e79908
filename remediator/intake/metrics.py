"""What the intake counts: alerts received, decisions taken, the breaker tripping.

Built on a registry the composition root gives (`app.metrics`), never the
global one. `decisions` is the intake's; the worker counts the decisions of
its escalation steps there too, handed this counter by the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class IntakeMetrics:
    alerts_received: Counter
    decisions: Counter
    breaker_open: Gauge
    """1 as soon as a decision trips the breaker; the app's gauge refresh then
    mirrors the store's state (a reset included) every few seconds."""

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> IntakeMetrics:
        return cls(
            alerts_received=Counter(
                "remediator_alerts_received", "Alerts received from Alertmanager, by status.",
                ["status"], registry=registry),
            decisions=Counter(
                "remediator_decisions", "Decisions taken, by rule and outcome.",
                ["rule", "outcome"], registry=registry),
            breaker_open=Gauge(
                "remediator_breaker_open", "1 while the circuit breaker is open.",
                registry=registry),
        )
