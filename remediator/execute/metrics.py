"""What the worker counts: actions run (results, duration, in flight), verifications,
escalation steps and exhausted ladders.

Built on a registry the composition root gives (`app.metrics`), never the
global one. An escalation step is a decision: it is counted on the intake's
`remediator_decisions`, which the composition root hands in (`decisions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_ACTION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


@dataclass(frozen=True)
class WorkerMetrics:
    action_results: Counter
    action_duration: Histogram
    actions_in_flight: Gauge
    verifications: Counter
    escalations: Counter
    escalations_exhausted: Counter
    decisions: Counter
    """Not the worker's own: the intake's (`IntakeMetrics.decisions`), handed in."""

    @classmethod
    def create(cls, *, registry: CollectorRegistry, decisions: Counter) -> WorkerMetrics:
        return cls(
            action_results=Counter(
                "remediator_action_results", "Action results, by action type and outcome.",
                ["action", "outcome"], registry=registry),
            action_duration=Histogram(
                "remediator_action_duration_seconds", "Time an action took, by action type.",
                ["action"], buckets=_ACTION_BUCKETS, registry=registry),
            actions_in_flight=Gauge(
                "remediator_actions_in_flight", "Actions running now.", registry=registry),
            verifications=Counter(
                "remediator_verifications", "Verification results, by rule and outcome.",
                ["rule", "outcome"], registry=registry),
            escalations=Counter(
                "remediator_escalations", "Escalation steps started, by rule.",
                ["rule"], registry=registry),
            escalations_exhausted=Counter(
                "remediator_escalations_exhausted",
                "Remediations whose escalation ladder ran out, by rule.",
                ["rule"], registry=registry),
            decisions=decisions,
        )
