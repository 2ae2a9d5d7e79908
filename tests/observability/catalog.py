"""What the observability tests check against: the alert catalogue, files, metric names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ALERTS_DIR = ROOT / "alerts"
RULE_FILES = tuple(ALERTS_DIR / name for name in ("workloads.yml", "cluster.yml",
                                                  "remediator.yml", "anomaly.yml"))
ALERT_TESTS = tuple(sorted((ALERTS_DIR / "tests").glob("*.yml")))
ALERTMANAGER_EXAMPLE = ALERTS_DIR / "alertmanager.example.yml"
RUNBOOKS_DIR = ROOT / "runbooks"
DASHBOARDS_DIR = ROOT / "dashboards"
REMEDIATION_RULES_DIR = ROOT / "rules"

RUNBOOK_URL = "{{ $externalLabels.runbook_base_url }}/runbooks/%s.md"
SEVERITIES = frozenset({"critical", "warning", "info"})

# Agreed with the rule authors: rules/ is written against these names.
ALERT_NAMES = frozenset({
    "KubePodCrashLooping", "KubePodRestartingOften", "HighErrorRate",
    "ContainerMemoryNearLimit", "HpaMaxedOut", "KafkaConsumerLagHigh", "KubeNodeNotReady",
    "NodeFilesystemAlmostFull", "K3sServiceDown", "ContainerRuntimeDown", "TargetDown",
    "RemediatorDown", "RemediatorActionsFailing", "RemediatorBreakerOpen",
    "RemediatorEscalationExhausted", "RemediatorRemediationLoop", "RemediatorRulesReloadFailed",
    "RemediatorAuditHeadWentBack",
    "RemediatorLoginFlood", "RemediatorIntegrationFailing",
    "RemediatorDriftUnresolved", "RemediatorRuleNotHelping", "RemediatorTargetRemediatedOften",
    "ErrorRatioAnomaly", "LatencyP99Anomaly", "RestartRateAnomaly",
})
REMEDIATIONS = {
    "KubePodCrashLooping": "restart-crashlooping-pod",
    "HighErrorRate": "roll-back-recent-rollout",
    "ContainerMemoryNearLimit": "rollout-restart-on-memory-pressure",
    "HpaMaxedOut": "raise-hpa-ceiling",
    "KafkaConsumerLagHigh": "scale-kafka-consumers",
    "K3sServiceDown": "restart-k3s-service",
    "NodeFilesystemAlmostFull": "free-node-disk",
    "ContainerRuntimeDown": "restart-container-runtime",
    "KubeNodeNotReady": "recover-notready-node",
    "LatencyP99Anomaly": "scale-out-on-latency-anomaly",
}

DASHBOARD_UIDS = {
    "remediator-overview.json": "remediator-overview",
    "cluster-health.json": "remediator-cluster-health",
    "anomalies.json": "remediator-anomalies",
}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

# The e2e stack (conftest.py): Prometheus' external label and the webhook's token.
RUNBOOK_BASE = "https://git.example.test/sre/remediator/blob/main"
WEBHOOK_TOKEN = "observability-test-token"

_REMEDIATOR_METRIC = re.compile(r"\bremediator_[a-zA-Z0-9_:]+")
# `alertname="X"`, or `alertname=~"X|Y"` listing names (a rule answering a
# repository alert and its stock kube-prometheus-stack twin).
_ALERTNAME_MATCHER = re.compile(r"""alertname\s*=~?\s*["']([A-Za-z0-9_|]+)["']""")


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of RULE_FILES, with the file it came from under `_file`."""
    found = []
    for path in RULE_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in document["groups"]:
            found += [{**rule, "_file": path.name} for rule in group["rules"] if "alert" in rule]
    return found


def remediation_rules() -> dict[str, set[str]]:
    """Rule name in rules/*.yml -> the alert names its matchers select by equality."""
    answers: dict[str, set[str]] = {}
    for path in sorted(REMEDIATION_RULES_DIR.glob("*.yml")):
        if path.name.endswith(".test.yml"):
            continue
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict):
            continue
        for rule in document.get("rules") or []:
            matchers = " ".join(rule.get("matchers") or [])
            answers[rule["name"]] = {name for names in _ALERTNAME_MATCHER.findall(matchers)
                                     for name in names.split("|")}
    return answers


def dashboards() -> dict[str, dict[str, Any]]:
    return {name: json.loads((DASHBOARDS_DIR / name).read_text(encoding="utf-8"))
            for name in DASHBOARD_UIDS}


def remediator_metrics_in(expr: str) -> set[str]:
    return set(_REMEDIATOR_METRIC.findall(expr))


def service_exposition() -> str:
    """What the service's /metrics page holds before anything happened: the groups
    `Services.build` assembles and the web layer's, on one registry."""
    from prometheus_client import generate_latest

    from remediator.app.metrics import Metrics
    from remediator.web.metrics import WebMetrics

    metrics = Metrics.create()
    WebMetrics.of(metrics)
    return generate_latest(metrics.registry).decode()


def exported_names(exposition: str) -> set[str]:
    """Sample names a /metrics page exports, from its `# TYPE` lines.

    Counters and histograms with labels show no samples until a label value is
    observed, but their TYPE lines are always there.
    """
    suffixes = {"counter": ("", "_created"), "gauge": ("",), "untyped": ("",),
                "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("", "_sum", "_count", "_created"), "info": ("",)}
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(maxsplit=3)
            names |= {name + suffix for suffix in suffixes.get(kind, ("",))}
    return names
