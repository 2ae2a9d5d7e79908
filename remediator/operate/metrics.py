"""What the operator-facing jobs count: notifications sent, approval requests answered.

Built on a registry the composition root gives (`app.metrics`), never the
global one. `approvals` is counted here when a request expires, and by the
web console when an operator answers one (it is handed this counter).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge


@dataclass(frozen=True)
class NotifyMetrics:
    notifications: Counter

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> NotifyMetrics:
        return cls(notifications=Counter(
            "remediator_notifications", "Outgoing notifications, by channel and result.",
            ["channel", "result"], registry=registry))


@dataclass(frozen=True)
class ApprovalMetrics:
    approvals: Counter

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> ApprovalMetrics:
        return cls(approvals=Counter(
            "remediator_approvals",
            "Answers to approval requests (approved, declined, expired), by rule.",
            ["rule", "outcome"], registry=registry))


@dataclass(frozen=True)
class ChatMetrics:
    """The chat approvals' own counts (`operate.chat`): messages sent or given up on, and
    button presses answered, refused (not on the allow-list) or rejected (bad signature)."""

    messages: Counter
    interactions: Counter
    backlog: Gauge

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> ChatMetrics:
        return cls(
            messages=Counter(
                "remediator_chat_messages", "Chat messages (approval requests and their "
                "updates), by integration and result (sent, failed).",
                ["integration", "result"], registry=registry),
            backlog=Gauge(
                "remediator_chat_backlog", "Chat messages waiting to be sent, by integration "
                "(stays above 0 while the server is down).", ["integration"],
                registry=registry),
            interactions=Counter(
                "remediator_chat_interactions", "Chat button presses and forms, by "
                "integration and result (answered, refused, rejected).",
                ["integration", "result"], registry=registry))


@dataclass(frozen=True)
class TimelineMetrics:
    """The incident timelines' counts (`operate.timeline`): posts to PagerDuty, Opsgenie
    and Grafana sent, given up on (failed) or refused by the server (4xx)."""

    messages: Counter
    backlog: Gauge

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> TimelineMetrics:
        return cls(
            messages=Counter(
                "remediator_timeline_posts", "Incident timeline posts (PagerDuty change "
                "events, Opsgenie notes, Grafana annotations), by integration and result "
                "(sent, failed, refused).", ["integration", "result"], registry=registry),
            backlog=Gauge(
                "remediator_timeline_backlog", "Timeline posts waiting to be sent, by "
                "integration (stays above 0 while the server is down).", ["integration"],
                registry=registry))
