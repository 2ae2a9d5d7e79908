"""The Grafana dashboards in this folder, as code: the one source of truth.

    python dashboards/generate.py           # rewrite the JSON files
    python dashboards/generate.py --check   # exit 1 if they are out of date

Every panel and target uses the `datasource` template variable, every panel
has a unit and a description, and every range selector is `$__rate_interval`
(tests/observability/test_dashboards.py checks all of it, and that each
query parses in a real Prometheus).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "[$__rate_interval]"

Json = dict[str, Any]


def target(expr: str, legend: str = "", *, instant: bool = False) -> Json:
    return {
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
        "format": "table" if instant else "time_series",
    }


def _panel(kind: str, title: str, description: str, unit: str, targets: list[Json],
           *, width: int, height: int, defaults: Json | None = None,
           options: Json | None = None, transformations: list[Json] | None = None) -> Json:
    refs = [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)]
    panel: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit, **(defaults or {})}, "overrides": []},
        "options": options or {},
        "targets": refs,
    }
    if transformations:
        panel["transformations"] = transformations
    return panel


def _thresholds(*steps: tuple[float | None, str]) -> Json:
    return {"mode": "absolute",
            "steps": [{"value": value, "color": color} for value, color in steps]}


def timeseries(title: str, description: str, unit: str, *targets: Json, width: int = 12,
               threshold: float | None = None, stack: bool = False) -> Json:
    custom: Json = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                    "showPoints": "never", "spanNulls": False,
                    "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    defaults: Json = {"custom": custom}
    if threshold is not None:
        custom["thresholdsStyle"] = {"mode": "line"}
        defaults["thresholds"] = _thresholds((None, "green"), (threshold, "red"))
    legend = {"displayMode": "table", "placement": "right", "calcs": ["max", "lastNotNull"]}
    options = {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}}
    return _panel("timeseries", title, description, unit, list(targets), width=width, height=8,
                  defaults=defaults, options=options)


def stat(title: str, description: str, unit: str, expr: str, *, width: int = 3,
         mappings: list[Json] | None = None, red_from: float | None = 1) -> Json:
    steps: list[tuple[float | None, str]] = [(None, "green")]
    if red_from is not None:
        steps.append((red_from, "red"))
    defaults: Json = {"thresholds": _thresholds(*steps), "mappings": mappings or []}
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
               "colorMode": "background", "graphMode": "none", "textMode": "value"}
    return _panel("stat", title, description, unit, [target(expr)], width=width, height=4,
                  defaults=defaults, options=options)


def table(title: str, description: str, expr: str, *, width: int = 24) -> Json:
    hide = {"Time": True, "Value": True, "__name__": True, "alertstate": True}
    return _panel("table", title, description, "short", [target(expr, instant=True)],
                  width=width, height=8, options={"showHeader": True},
                  transformations=[{"id": "organize", "options": {"excludeByName": hide}}])


def flag(zero: str, one: str) -> list[Json]:
    """A value mapping for 0/1 gauges."""
    return [{"type": "value", "options": {"0": {"text": zero, "color": "green", "index": 0},
                                          "1": {"text": one, "color": "red", "index": 1}}}]


def per_minute(expr: str) -> str:
    return f"60 * {expr}"


def layout(panels: list[Json]) -> list[Json]:
    """Place panels left to right, wrapping at Grafana's 24 columns; number them."""
    x = y = row_height = 0
    placed = []
    for number, panel in enumerate(panels, start=1):
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if x + w > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append({"id": number, **panel, "gridPos": {"x": x, "y": y, "w": w, "h": h}})
        x, row_height = x + w, max(row_height, h)
    return placed


ACTED_STEP, ACTED_RANGE = "1m", "2m"
"""The annotations' step and range: ranges overlap, so no increment falls between two
steps; an increment shows as a mark of a minute or two (scrape every minute or faster)."""


def annotation(name: str, colour: str, expr: str, title: str, text: str, tags: str) -> Json:
    """A Prometheus annotation: a mark on every time panel wherever `expr` has a value."""
    return {"name": name, "datasource": DATASOURCE, "enable": True, "hide": False,
            "iconColor": colour, "expr": expr, "step": ACTED_STEP, "titleFormat": title,
            "textFormat": text, "tagKeys": tags, "useValueForTime": False}


def acted(metric: str, by: str, selector: str = "") -> str:
    """Series of `metric` (summed `by`) whose count moved in the last ACTED_RANGE.

    `changes()` catches an increment; a series that is new (its first increment
    since the process started: client libraries show a labelled counter only
    once it counts) has no earlier sample to differ from, so the `unless ...
    offset` half catches it.
    """
    series = f"{metric}{selector}"
    return (f"sum by ({by}) (changes({series}[{ACTED_RANGE}])) > 0"
            f" or (sum by ({by}) ({series})"
            f" unless sum by ({by}) ({series} offset {ACTED_RANGE}))")


def remediator_annotations() -> list[Json]:
    """When remediator acted, from its own counters, so a team's panels show it:
    actions finished, decisions to act, verifications (a mark of a minute or two)."""
    return [
        annotation("remediator actions", "red",
                   acted("remediator_action_results_total", "action, outcome"),
                   "remediator: {{action}} {{outcome}}",
                   "action {{action}} finished: {{outcome}}", "action,outcome"),
        annotation("remediator decisions to act", "orange",
                   acted("remediator_decisions_total", "rule, outcome",
                         '{outcome=~"executed|dry_run|awaiting_approval"}'),
                   "remediator: rule {{rule}} {{outcome}}",
                   "rule {{rule}} decided: {{outcome}}", "rule,outcome"),
        annotation("remediator verifications", "green",
                   acted("remediator_verifications_total", "rule, outcome"),
                   "remediator: rule {{rule}} {{outcome}}",
                   "rule {{rule}} verification: {{outcome}}", "rule,outcome"),
    ]


def dashboard(uid: str, title: str, description: str, panels: list[Json]) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["remediator"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": remediator_annotations()},
        "links": [],
        "templating": {"list": [{
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "includeAll": False,
            "multi": False,
            "options": [],
            "refresh": 1,
            "regex": "",
            "skipUrlSync": False,
        }]},
        "panels": layout(panels),
    }


def remediator_overview() -> Json:
    decisions = "remediator_decisions_total"
    results = "remediator_action_results_total"
    verifications = "remediator_verifications_total"
    action_le = f"sum by (le, action) (rate(remediator_action_duration_seconds_bucket{RATE}))"
    webhook_le = f"sum by (le) (rate(remediator_webhook_duration_seconds_bucket{RATE}))"
    panels = [
        stat("Circuit breaker", "Open: every decision is `breaker_open`, nothing runs "
             "(alert RemediatorBreakerOpen).", "none", "max(remediator_breaker_open)",
             mappings=flag("closed", "OPEN")),
        stat("Paused", "An operator paused remediation (`remediator pause`); decisions are "
             "audited as `paused`.", "none", "max(remediator_paused)",
             mappings=flag("running", "PAUSED")),
        stat("Rules reload", "Did the last rule (re)load succeed? On failure the previous rules "
             "stay in force (alert RemediatorRulesReloadFailed).", "none",
             "min(remediator_rules_last_reload_success)",
             mappings=[{"type": "value", "options": {
                 "0": {"text": "FAILED", "color": "red", "index": 0},
                 "1": {"text": "ok", "color": "green", "index": 1}}}], red_from=None),
        stat("Rules loaded", "Rules in force.", "short", "max(remediator_rules_loaded)",
             red_from=None),
        stat("Replicas up", "Remediator replicas Prometheus can scrape (alert RemediatorDown).",
             "short", 'sum(up{job="remediator"})', red_from=None),
        stat("Queue depth", "Jobs waiting for a worker, all kinds.", "short",
             "sum(remediator_jobs_queued)", red_from=50),
        stat("Actions in flight", "Actions running now, all replicas.", "short",
             "sum(remediator_actions_in_flight)", red_from=None),
        stat("Verified", "Share of recent verifications that found the alert gone after "
             "the action.", "percentunit",
             f'sum(rate({verifications}{{outcome="verified"}}{RATE})) '
             f"/ sum(rate({verifications}{RATE}))", red_from=None),
        timeseries("Decisions by outcome", "Decisions per minute, by outcome (executed, "
                   "dry_run, duplicate, cooldown, rate_limited, breaker_open, denied, paused, "
                   "no_match, rejected, awaiting_approval).", "opm",
                   target(per_minute(f"sum by (outcome) (rate({decisions}{RATE}))"),
                          "{{outcome}}"), stack=True),
        timeseries("Decisions by rule and outcome", "Decisions per minute for each rule. "
                   "Repeated cooldown/rate_limited for one rule is a remediation loop.", "opm",
                   target(per_minute(f'sum by (rule, outcome) (rate({decisions}{{rule!=""}}'
                                     f"{RATE}))"), "{{rule}} · {{outcome}}"), stack=True),
        timeseries("Action results", "Actions finished per minute, by action type and result "
                   "(succeeded, failed, target_gone).", "opm",
                   target(per_minute(f"sum by (action, outcome) (rate({results}{RATE}))"),
                          "{{action}} · {{outcome}}"), stack=True),
        timeseries("Action failure ratio", "Failed actions / all finished actions, by action "
                   "type. Failures also trip the circuit breaker.", "percentunit",
                   target(f'sum by (action) (rate({results}{{outcome="failed"}}{RATE})) '
                          f"/ sum by (action) (rate({results}{RATE}))", "{{action}}")),
        timeseries("Action duration", "How long actions take, by type: median and 95th "
                   "percentile.", "s",
                   target(f"histogram_quantile(0.5, {action_le})", "p50 {{action}}"),
                   target(f"histogram_quantile(0.95, {action_le})", "p95 {{action}}")),
        timeseries("Webhook latency", "Alertmanager delivery to durable decision (the webhook "
                   "answers only then).", "s",
                   target(f"histogram_quantile(0.5, {webhook_le})", "p50"),
                   target(f"histogram_quantile(0.95, {webhook_le})", "p95"),
                   target(f"histogram_quantile(0.99, {webhook_le})", "p99")),
        timeseries("Verification ratio by rule", "Verified / all verifications, per rule: how "
                   "often the action made the alert go away.", "percentunit",
                   target(f'sum by (rule) (rate({verifications}{{outcome="verified"}}{RATE})) '
                          f"/ sum by (rule) (rate({verifications}{RATE}))", "{{rule}}")),
        timeseries("Verifications by outcome", "Verification results per minute (verified, "
                   "unverified, unknown = Prometheus unreachable).", "opm",
                   target(per_minute(f"sum by (outcome) (rate({verifications}{RATE}))"),
                          "{{outcome}}"), stack=True),
        timeseries("Escalations", "Escalation steps started, and ladders exhausted (alert "
                   "RemediatorEscalationExhausted), per minute by rule.", "opm",
                   target(per_minute(f"sum by (rule) (rate(remediator_escalations_total{RATE}))"),
                          "started {{rule}}"),
                   target(per_minute("sum by (rule) "
                                     f"(rate(remediator_escalations_exhausted_total{RATE}))"),
                          "exhausted {{rule}}")),
        timeseries("Queue depth", "Jobs waiting, by kind, and actions running.", "short",
                   target("sum by (kind) (remediator_jobs_queued)", "queued {{kind}}"),
                   target("sum(remediator_actions_in_flight)", "in flight")),
        timeseries("Webhook deliveries", "Deliveries per minute by HTTP status: 401 = wrong "
                   "token, 503 = store down (Alertmanager retries).", "opm",
                   target(per_minute("sum by (code) "
                                     f"(rate(remediator_webhook_deliveries_total{RATE}))"),
                          "{{code}}"), width=8, stack=True),
        timeseries("Alerts received", "Alerts per minute in webhook deliveries, firing and "
                   "resolved.", "opm",
                   target(per_minute("sum by (status) "
                                     f"(rate(remediator_alerts_received_total{RATE}))"),
                          "{{status}}"), width=8, stack=True),
        timeseries("Reconciliations", "Reconciliations with Alertmanager's active alerts per "
                   "minute, by result.", "opm",
                   target(per_minute("sum by (result) "
                                     f"(rate(remediator_reconcile_runs_total{RATE}))"),
                          "{{result}}"), width=8),
        timeseries("Approvals", "Approval requests (`awaiting_approval` decisions) and their "
                   "answers per minute: approved, declined, expired (nobody answered in time)."
                   , "opm",
                   target(per_minute(f'sum(rate({decisions}{{outcome="awaiting_approval"}}'
                                     f"{RATE}))"), "requested"),
                   target(per_minute(f"sum by (outcome) (rate(remediator_approvals_total{RATE}))"),
                          "{{outcome}}"), width=8),
        timeseries("Operator actions", "Pause, resume, breaker reset, reload, approve and "
                   "decline per minute (each is an `operator` audit entry naming who).", "opm",
                   target(per_minute("sum by (action) "
                                     f"(rate(remediator_operator_actions_total{RATE}))"),
                          "{{action}}"), width=8),
        timeseries("Refused requests", "Requests with a missing or wrong token per minute, by "
                   "endpoint (audited only as one sample per client per minute).", "opm",
                   target(per_minute("sum by (endpoint) "
                                     f"(rate(remediator_unauthenticated_requests_total{RATE}))"),
                          "{{endpoint}}"), width=8),
        timeseries("Chat and timeline posts", "Messages sent per minute by integration: "
                   "Slack/Mattermost approval requests and updates, PagerDuty change events, "
                   "Opsgenie notes, Grafana annotations (docs/incident-timelines.md).", "opm",
                   target(per_minute("sum by (integration) "
                                     f'(rate(remediator_chat_messages_total{{result="sent"}}'
                                     f"{RATE}))"), "chat {{integration}}"),
                   target(per_minute("sum by (integration) "
                                     f'(rate(remediator_timeline_posts_total{{result="sent"}}'
                                     f"{RATE}))"), "timeline {{integration}}"), width=8),
        timeseries("Chat and timeline failures", "Messages given up (failed: server down or "
                   "backlog full) or refused (4xx: wrong key, unknown alias) per minute, by "
                   "integration (alert RemediatorIntegrationFailing).", "opm",
                   target(per_minute("sum by (integration, result) "
                                     f'(rate(remediator_chat_messages_total{{result!="sent"}}'
                                     f"{RATE}))"), "chat {{integration}} {{result}}"),
                   target(per_minute("sum by (integration, result) "
                                     f'(rate(remediator_timeline_posts_total{{result!="sent"}}'
                                     f"{RATE}))"), "timeline {{integration}} {{result}}"),
                   width=8),
        timeseries("Chat answers", "Button presses and forms per minute by integration and "
                   "result: answered, refused (not an operator), rejected (bad signature).",
                   "opm", target(per_minute("sum by (integration, result) "
                                            "(rate(remediator_chat_interactions_total"
                                            f"{RATE}))"), "{{integration}} {{result}}"),
                   width=8),
        timeseries("Breaker and pause", "When the circuit breaker was open and when "
                   "remediation was paused.", "bool_on_off",
                   target("max(remediator_breaker_open)", "breaker open"),
                   target("max(remediator_paused)", "paused")),
        table("Remediator alerts firing", "Alerts about the remediator itself, from ALERTS "
              "(alerts/remediator.yml).",
              'ALERTS{alertname=~"Remediator.*", alertstate="firing"}', width=12),
        timeseries("Busiest target per rule", "Actions in the last 24 hours on the target each "
                   "rule remediated most (alert RemediatorTargetRemediatedOften above 5; "
                   "`remediator report effectiveness` names the target).", "short",
                   target("max by (rule) (remediator_rule_busiest_target_actions)", "{{rule}}")),
    ]
    return dashboard("remediator-overview", "Remediator / Overview",
                     "What the remediator decided and did: decisions, actions, verification, "
                     "escalation, guards, webhook, chat and incident timelines.", panels)


def cluster_health() -> Json:
    firing = 'ALERTS{alertstate="firing"}'
    ready = 'kube_node_status_condition{condition="Ready", status="true"}'
    fs = 'fstype!~"|tmpfs|ramfs|squashfs|overlay|nsfs|fuse.lxcfs"'
    units = "k3s.service|k3s-agent.service|containerd.service|docker.service|crio.service"
    panels = [
        stat("Critical alerts", "Alerts firing with severity critical.", "short",
             'count(ALERTS{alertstate="firing", severity="critical"}) or vector(0)', width=4),
        stat("Warning alerts", "Alerts firing with severity warning.", "short",
             'count(ALERTS{alertstate="firing", severity="warning"}) or vector(0)', width=4),
        stat("Pending alerts", "Alerts whose condition holds but whose `for:` has not elapsed.",
             "short", 'count(ALERTS{alertstate="pending"}) or vector(0)', width=4),
        stat("Nodes not ready", "Nodes not reporting Ready (alert KubeNodeNotReady after 5m).",
             "short", f"count(max by (node) ({ready}) == 0) or vector(0)", width=4),
        stat("Targets down", "Scrape targets failing (alert TargetDown after 5m).", "short",
             "count(up == 0) or vector(0)", width=4),
        stat("Crash-looping containers", "Containers in CrashLoopBackOff (alert "
             "KubePodCrashLooping after 10m).", "short",
             "count(max by (namespace, pod, container) "
             '(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}) == 1) '
             "or vector(0)", width=4),
        table("Firing alerts", "Every firing alert with its labels, from ALERTS. The runbook is "
              "runbooks/<alertname>.md.", firing),
        timeseries("Firing alerts by name", "How many alerts of each name fire.", "short",
                   target(f"count by (alertname) ({firing})", "{{alertname}}"), stack=True),
        timeseries("Firing alerts by severity", "How many alerts of each severity fire.",
                   "short", target(f"count by (severity) ({firing})", "{{severity}}"),
                   stack=True),
        timeseries("Container restarts", "Restarts per container in each interval, top 10 "
                   "(alert KubePodRestartingOften: more than 5 in an hour).", "short",
                   target("topk(10, sum by (namespace, pod, container) "
                          f"(increase(kube_pod_container_status_restarts_total{RATE})))",
                          "{{namespace}}/{{pod}}/{{container}}")),
        timeseries("HTTP 5xx ratio", "Share of requests answered 5xx, by service (alert "
                   "HighErrorRate above 5% for 10m).", "percentunit",
                   target('sum by (namespace, service) (rate(http_requests_total{code=~"5.."}'
                          f"{RATE})) / sum by (namespace, service) "
                          f"(rate(http_requests_total{RATE}))", "{{namespace}}/{{service}}"),
                   threshold=0.05),
        timeseries("Memory against limit", "Working set / memory limit, top 10 containers "
                   "(alert ContainerMemoryNearLimit above 90% for 15m).", "percentunit",
                   target("topk(10, max by (namespace, pod, container) "
                          '(container_memory_working_set_bytes{container!="", container!="POD"})'
                          " / on (namespace, pod, container) max by (namespace, pod, container) "
                          '(kube_pod_container_resource_limits{resource="memory"} > 0))',
                          "{{namespace}}/{{pod}}/{{container}}"), threshold=0.9),
        timeseries("HPA replicas against maximum", "Current / max replicas per HPA (alert "
                   "HpaMaxedOut at 100% for 15m).", "percentunit",
                   target("max by (namespace, horizontalpodautoscaler) "
                          "(kube_horizontalpodautoscaler_status_current_replicas) "
                          "/ on (namespace, horizontalpodautoscaler) "
                          "max by (namespace, horizontalpodautoscaler) "
                          "(kube_horizontalpodautoscaler_spec_max_replicas)",
                          "{{namespace}}/{{horizontalpodautoscaler}}"), threshold=1),
        timeseries("Kafka consumer lag", "Messages behind per consuming deployment (alert "
                   "KafkaConsumerLagHigh above 10k for 10m).", "short",
                   target("sum by (namespace, deployment, consumergroup) "
                          "(kafka_consumergroup_lag)",
                          "{{namespace}}/{{deployment}} ({{consumergroup}})"), threshold=10000),
        timeseries("Filesystem space left", "Available / size per node filesystem, lowest 10 "
                   "(alert NodeFilesystemAlmostFull below 10% for 10m).", "percentunit",
                   target(f"bottomk(10, node_filesystem_avail_bytes{{{fs}}} "
                          f"/ node_filesystem_size_bytes{{{fs}}})",
                          "{{instance}} {{mountpoint}}")),
        timeseries("Node readiness", "1 when the node reports Ready (alert KubeNodeNotReady "
                   "after 5m at 0).", "bool_on_off",
                   target(f"max by (node) ({ready})", "{{node}}")),
        timeseries("K3s and container runtime services", "systemd units active on each node "
                   "(alerts K3sServiceDown, ContainerRuntimeDown after 2m inactive).",
                   "bool_on_off",
                   target(f'max by (instance, name) (node_systemd_unit_state{{name=~"{units}", '
                          'state="active"})', "{{instance}} {{name}}")),
        timeseries("Scrape targets up", "Share of each job's targets that Prometheus can "
                   "scrape (alert TargetDown after 5m down).", "percentunit",
                   target("sum by (job) (up) / count by (job) (up)", "{{job}}"), width=24),
    ]
    return dashboard("remediator-cluster-health", "Remediator / Cluster health",
                     "The cluster as the alerting rules in alerts/ see it: firing alerts and "
                     "the signals behind each one.", panels)


# Anomaly signal (alerts/anomaly.yml) -> the suffix of its current value.
_SIGNAL_SUFFIX = {
    "namespace_service:http_error_ratio": "rate5m",
    "namespace_service:http_request_duration_seconds": "p99_5m",
    "namespace:kube_pod_container_restarts": "rate15m",
}


def _anomaly_panels(title: str, what: str, signal: str, by: str, legend: str,
                    unit: str) -> list[Json]:
    """The z-scores of one anomaly signal, and the signal against its baselines."""
    z = [target(f"topk(10, {signal}:zscore_{window})", f"{legend} {window}")
         for window in ("1h", "1d", "1w_seasonal")]
    return [
        timeseries(f"{title} z-scores", f"How many standard deviations {what} sits above "
                   "its mean of the last hour, the last day and the same hour a week ago, "
                   "top 10. The alert needs 1h or 1d above 3 and 1w_seasonal above 3 too.",
                   "none", *z, threshold=3),
        timeseries(f"{title} against its baselines", f"{what.capitalize()} now, its mean "
                   "over the last day and over the same hour a week ago (the seasonal "
                   "baseline), top 10.", unit,
                   target(f"topk(10, {signal}:{_SIGNAL_SUFFIX[signal]})", f"{legend} now"),
                   target(f"{signal}:avg_1d and on ({by}) topk(10, "
                          f"{signal}:{_SIGNAL_SUFFIX[signal]})", f"{legend} 1d mean"),
                   target(f"{signal}:avg_1w_seasonal and on ({by}) topk(10, "
                          f"{signal}:{_SIGNAL_SUFFIX[signal]})", f"{legend} a week ago")),
    ]



def anomalies() -> Json:
    service = "{{namespace}}/{{service}}"
    panels = [
        stat("Anomalies firing", "Anomaly alerts firing (alerts/anomaly.yml).", "short",
             'count(ALERTS{alertname=~".+Anomaly", alertstate="firing"}) or vector(0)',
             width=4),
        table("Anomaly alerts", "Every anomaly alert firing or pending, with its target. "
              "The runbook is runbooks/<alertname>.md.",
              'ALERTS{alertname=~".+Anomaly"}', width=20),
        *_anomaly_panels("Error ratio", "the 5xx ratio of a service",
                         "namespace_service:http_error_ratio", "namespace, service", service,
                         "percentunit"),
        *_anomaly_panels("p99 latency", "the p99 latency of a service",
                         "namespace_service:http_request_duration_seconds", "namespace, service",
                         service, "s"),
        *_anomaly_panels("Restarts", "the restarts per hour of a namespace",
                         "namespace:kube_pod_container_restarts", "namespace", "{{namespace}}",
                         "short"),
    ]
    return dashboard("remediator-anomalies", "Remediator / Anomalies",
                     "Error ratio, p99 latency and restarts against their own past: the "
                     "z-scores and baselines behind the anomaly alerts (alerts/anomaly.yml).",
                     panels)


DASHBOARDS = {
    "remediator-overview.json": remediator_overview,
    "cluster-health.json": cluster_health,
    "anomalies.json": anomalies,
}


def render() -> dict[str, str]:
    """File name -> JSON text, exactly as committed."""
    return {name: json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
            for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = HERE / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python dashboards/generate.py",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
