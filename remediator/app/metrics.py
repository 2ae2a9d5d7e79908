"""The service's own metrics, on a registry each app (and each test) builds.

Names follow Prometheus conventions (`_total`, `_seconds`); outcome labels use
the one vocabulary of `outcomes.Outcome`, so dashboards and alert rules can
rely on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ACTION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    alerts_received: Counter
    deliveries: Counter
    decisions: Counter
    action_results: Counter
    action_duration: Histogram
    actions_in_flight: Gauge
    jobs_queued: Gauge
    breaker_open: Gauge
    paused: Gauge
    webhook_duration: Histogram
    rules_loaded: Gauge
    rules_last_reload_success: Gauge
    rules_last_reload_timestamp: Gauge
    verifications: Counter
    escalations: Counter
    escalations_exhausted: Counter
    reconcile_runs: Counter
    unauthenticated_requests: Counter
    login_failures: Counter
    operator_actions: Counter
    approvals: Counter
    notifications: Counter
    audit_head_id: Gauge
    audit_head_count: Gauge
    audit_head_stalled: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        """All metrics on `registry` (a fresh one by default, never the global one)."""
        reg = registry if registry is not None else CollectorRegistry()
        return cls(
            registry=reg,
            alerts_received=Counter(
                "remediator_alerts_received", "Alerts received from Alertmanager, by status.",
                ["status"], registry=reg),
            deliveries=Counter(
                "remediator_webhook_deliveries", "Webhook deliveries, by HTTP status code.",
                ["code"], registry=reg),
            decisions=Counter(
                "remediator_decisions", "Decisions taken, by rule and outcome.",
                ["rule", "outcome"], registry=reg),
            action_results=Counter(
                "remediator_action_results", "Action results, by action type and outcome.",
                ["action", "outcome"], registry=reg),
            action_duration=Histogram(
                "remediator_action_duration_seconds", "Time an action took, by action type.",
                ["action"], buckets=_ACTION_BUCKETS, registry=reg),
            actions_in_flight=Gauge(
                "remediator_actions_in_flight", "Actions running now.", registry=reg),
            jobs_queued=Gauge(
                "remediator_jobs_queued", "Jobs waiting in the queue, by kind.",
                ["kind"], registry=reg),
            breaker_open=Gauge(
                "remediator_breaker_open", "1 while the circuit breaker is open.", registry=reg),
            paused=Gauge(
                "remediator_paused", "1 while remediation is paused by an operator.",
                registry=reg),
            webhook_duration=Histogram(
                "remediator_webhook_duration_seconds",
                "Webhook latency from request to durable decision.",
                buckets=_LATENCY_BUCKETS, registry=reg),
            rules_loaded=Gauge(
                "remediator_rules_loaded", "Rules in force.", registry=reg),
            rules_last_reload_success=Gauge(
                "remediator_rules_last_reload_success",
                "1 if the last rule (re)load succeeded.", registry=reg),
            rules_last_reload_timestamp=Gauge(
                "remediator_rules_last_reload_timestamp_seconds",
                "When rules were last (re)loaded successfully.", registry=reg),
            verifications=Counter(
                "remediator_verifications", "Verification results, by rule and outcome.",
                ["rule", "outcome"], registry=reg),
            escalations=Counter(
                "remediator_escalations", "Escalation steps started, by rule.",
                ["rule"], registry=reg),
            escalations_exhausted=Counter(
                "remediator_escalations_exhausted",
                "Remediations whose escalation ladder ran out, by rule.",
                ["rule"], registry=reg),
            reconcile_runs=Counter(
                "remediator_reconcile_runs", "Reconciliations with Alertmanager, by result.",
                ["result"], registry=reg),
            unauthenticated_requests=Counter(
                "remediator_unauthenticated_requests",
                "Requests refused for a missing or wrong token, by endpoint.",
                ["endpoint"], registry=reg),
            login_failures=Counter(
                "remediator_login_failures",
                "Console sign-ins refused: a wrong token, or throttled (429), by reason.",
                ["reason"], registry=reg),
            operator_actions=Counter(
                "remediator_operator_actions", "Operator actions (pause, approve...), by action.",
                ["action"], registry=reg),
            approvals=Counter(
                "remediator_approvals",
                "Answers to approval requests (approved, declined, expired), by rule.",
                ["rule", "outcome"], registry=reg),
            notifications=Counter(
                "remediator_notifications", "Outgoing notifications, by channel and result.",
                ["channel", "result"], registry=reg),
            # The audit head as the database holds it, read every few seconds: Prometheus
            # keeps its history outside the database, so a head put back to an older
            # signed record (with the entries after it deleted) shows as a drop.
            audit_head_id=Gauge(
                "remediator_audit_head_id",
                "Newest audit entry id named by the signed head record in the database "
                "(0: no head record).", registry=reg),
            audit_head_count=Gauge(
                "remediator_audit_head_count",
                "Audit entries ever appended, per the signed head record (0: no head "
                "record); never decreases.", registry=reg),
            audit_head_stalled=Gauge(
                "remediator_audit_head_stalled",
                "1 when this process stopped moving the audit head because the database "
                "disagreed with it (run `remediator audit verify`).", registry=reg),
        )
