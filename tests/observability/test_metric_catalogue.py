"""The metrics the running service exposes are public contract: dashboards, alert rules
and people's queries read them. This table was captured from the service before the
metrics moved next to the components that update them (issue 22); whoever builds them,
the service must expose exactly these, with these types, help texts, labels and buckets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from math import inf
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from remediator.app.settings import load_settings
from remediator.web.app import create_app

Row = tuple[str, str, str, tuple[str, ...], tuple[float, ...] | None]

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, inf)
_ACTION = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, inf)

CATALOGUE: tuple[Row, ...] = (
    ("remediator_alerts_received", "counter",
     "Alerts received from Alertmanager, by status.", ("status",), None),
    ("remediator_webhook_deliveries", "counter",
     "Webhook deliveries, by HTTP status code.", ("code",), None),
    ("remediator_decisions", "counter",
     "Decisions taken, by rule and outcome.", ("rule", "outcome"), None),
    ("remediator_action_results", "counter",
     "Action results, by action type and outcome.", ("action", "outcome"), None),
    ("remediator_action_duration_seconds", "histogram",
     "Time an action took, by action type.", ("action",), _ACTION),
    ("remediator_actions_in_flight", "gauge", "Actions running now.", (), None),
    ("remediator_jobs_queued", "gauge", "Jobs waiting in the queue, by kind.", ("kind",), None),
    ("remediator_breaker_open", "gauge", "1 while the circuit breaker is open.", (), None),
    ("remediator_paused", "gauge", "1 while remediation is paused by an operator.", (), None),
    ("remediator_webhook_duration_seconds", "histogram",
     "Webhook latency from request to durable decision.", (), _LATENCY),
    ("remediator_rules_loaded", "gauge", "Rules in force.", (), None),
    ("remediator_rules_last_reload_success", "gauge",
     "1 if the last rule (re)load succeeded.", (), None),
    ("remediator_rules_last_reload_timestamp_seconds", "gauge",
     "When rules were last (re)loaded successfully.", (), None),
    ("remediator_verifications", "counter",
     "Verification results, by rule and outcome.", ("rule", "outcome"), None),
    ("remediator_escalations", "counter", "Escalation steps started, by rule.", ("rule",), None),
    ("remediator_escalations_exhausted", "counter",
     "Remediations whose escalation ladder ran out, by rule.", ("rule",), None),
    ("remediator_reconcile_runs", "counter",
     "Reconciliations with Alertmanager, by result.", ("result",), None),
    ("remediator_unauthenticated_requests", "counter",
     "Requests refused for a missing or wrong token, by endpoint.", ("endpoint",), None),
    ("remediator_login_failures", "counter",
     "Console sign-ins refused: a wrong token, or throttled (429), by reason.", ("reason",),
     None),
    ("remediator_operator_actions", "counter",
     "Operator actions (pause, approve...), by action.", ("action",), None),
    ("remediator_approvals", "counter",
     "Answers to approval requests (approved, declined, expired), by rule.",
     ("rule", "outcome"), None),
    ("remediator_notifications", "counter",
     "Outgoing notifications, by channel and result.", ("channel", "result"), None),
    ("remediator_audit_head_id", "gauge",
     "Newest audit entry id named by the signed head record in the database "
     "(0: no head record).", (), None),
    ("remediator_audit_head_count", "gauge",
     "Audit entries ever appended, per the signed head record (0: no head record); "
     "never decreases.", (), None),
    ("remediator_audit_head_stalled", "gauge",
     "1 when this process stopped moving the audit head because the database disagreed "
     "with it (run `remediator audit verify`).", (), None),
    ("remediator_drift_objects", "gauge",
     "Live changes remediator made on GitOps-managed targets that git does not hold yet and "
     "the controller has not reverted (`remediator drift`).", (), None),
    ("remediator_rule_busiest_target_actions", "gauge",
     "Actions in the last 24 hours on the target each rule remediated most "
     "(`remediator report effectiveness --since 1d` names it).", ("rule",), None),
    ("remediator_chat_messages", "counter",
     "Chat messages (approval requests and their updates), by integration and result "
     "(sent, failed).", ("integration", "result"), None),
    ("remediator_chat_interactions", "counter",
     "Chat button presses and forms, by integration and result (answered, refused, "
     "rejected).", ("integration", "result"), None),
    ("remediator_chat_backlog", "gauge",
     "Chat messages waiting to be sent, by integration (stays above 0 while the server is "
     "down).", ("integration",), None),
    ("remediator_timeline_posts", "counter",
     "Incident timeline posts (PagerDuty change events, Opsgenie notes, Grafana annotations), "
     "by integration and result (sent, failed, refused).", ("integration", "result"), None),
    ("remediator_timeline_backlog", "gauge",
     "Timeline posts waiting to be sent, by integration (stays above 0 while the server is "
     "down).", ("integration",), None),
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CollectorRegistry, str]]:
    """The registry of a running service (web app and all), and its /metrics body."""
    rules = Path(__file__).resolve().parents[2] / "rules"
    db = tmp_path_factory.mktemp("catalogue") / "r.db"
    settings = load_settings(rules=[str(rules)], database_url=f"sqlite:///{db}", dev=True)
    app = create_app(settings, scheduler=False)
    with TestClient(app) as client:
        body = client.get("/metrics").text
        yield app.state.services.metrics.registry, body


def _row(collector: Any) -> Row:
    """What a collector exposes; prometheus_client keeps it on private attributes
    (a labelled metric without children shows no label names through `collect`)."""
    buckets = tuple(collector._upper_bounds) if collector._type == "histogram" else None
    return (collector._name, collector._type, collector._documentation,
            tuple(collector._labelnames), buckets)


def test_the_registry_holds_exactly_the_catalogue(
        served: tuple[CollectorRegistry, str]) -> None:
    registry, _ = served
    rows = {row[0]: row for row in map(_row, registry._collector_to_names)}
    assert set(rows) == {row[0] for row in CATALOGUE}
    for row in CATALOGUE:
        assert rows[row[0]] == row


def _exposed(name: str, kind: str) -> str:
    """The family name in the text format: counters gain `_total`."""
    return f"{name}_total" if kind == "counter" else name


def test_metrics_endpoint_serves_every_family_with_its_help_and_type(
        served: tuple[CollectorRegistry, str]) -> None:
    _, body = served
    created = re.compile(r"_created$")  # a counter's or histogram's start time, beside it
    helps = {name: text for name, text in re.findall(r"^# HELP (\S+) (.*)$", body, re.MULTILINE)
             if not created.search(name)}
    types = {name: kind for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", body,
                                                     re.MULTILINE) if not created.search(name)}
    assert types == {_exposed(name, kind): kind for name, kind, *_ in CATALOGUE}
    assert helps == {_exposed(name, kind): text for name, kind, text, *_ in CATALOGUE}
