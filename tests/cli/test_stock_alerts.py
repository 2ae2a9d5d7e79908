"""The shipped rules answer kube-prometheus-stack's own alerts, as they really arrive.

Most users run the stock kubernetes-mixin / node-mixin alerts, not the
repository's alerts/: a rule written against a label those alerts do not carry
(`deployment` on a pod alert, `node` on a node_exporter alert) or a renamed
alert (`KubeHpaMaxedOut` vs `HpaMaxedOut`) decides `no_match` or `denied`
without anyone noticing. docs/stock-alerts.md's tables are the list: each answered alert, with the labels it carries, goes through
`remediator simulate` (the real engine) and must reach its rule; each alert
left alone must still match nothing, so a new rule updates the table too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remediator.cli import app
from remediator.model.alerts import fingerprint
from tests.support.payloads import alert, payload

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

# What the Prometheus operator and kube-state-metrics' ServiceMonitor add to
# every kube-state-metrics alert of kube-prometheus-stack. On object-level
# series (deployments, HPAs, nodes) `pod`/`container`/`namespace` would name
# the kube-state-metrics pod; pod-level series keep their own (honorLabels).
KSM = {"job": "kube-state-metrics", "instance": "10.42.1.23:8080", "endpoint": "http",
       "service": "kube-prometheus-stack-kube-state-metrics",
       "prometheus": "monitoring/kube-prometheus-stack-prometheus"}
KSM_POD = {"pod": "kube-prometheus-stack-kube-state-metrics-5b8d7c9f4-hx2lq",
           "container": "kube-state-metrics"}
NODE_EXPORTER = {"job": "node-exporter", "instance": "10.0.0.12:9100",
                 "endpoint": "http-metrics", "container": "node-exporter",
                 "namespace": "monitoring", "pod": "kube-prometheus-stack-prometheus-node-exporter-x7k2p",
                 "service": "kube-prometheus-stack-prometheus-node-exporter",
                 "prometheus": "monitoring/kube-prometheus-stack-prometheus",
                 "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
CONTAINER = {**KSM, "namespace": "apps-shop", "pod": "cart-7d9f8b6c5-x2x4q", "container": "app",
             "uid": "3f1c2a9e-5b7d-4e0a-9c1f-2d8e6b4a7c10"}

# Labels each stock alert carries: its expression's output labels (the
# kubernetes-mixin and node-mixin alert definitions) plus the scrape's.
STOCK_LABELS: dict[str, dict[str, str]] = {
    "KubePodCrashLooping": {**CONTAINER, "reason": "CrashLoopBackOff"},
    # sum by (namespace, pod, cluster): nothing else survives.
    "KubePodNotReady": {"namespace": "apps-shop", "pod": "cart-7d9f8b6c5-p9k2m",
                        "prometheus": KSM["prometheus"]},
    "KubeContainerWaiting": {**CONTAINER, "reason": "ContainerCreating"},
    "KubeDeploymentRolloutStuck": {**KSM, **KSM_POD, "namespace": "apps-shop", "deployment": "cart",
                                   "condition": "Progressing", "status": "false"},
    "KubeDeploymentReplicasMismatch": {**KSM, **KSM_POD, "namespace": "apps-shop",
                                       "deployment": "cart"},
    "KubeHpaMaxedOut": {**KSM, **KSM_POD, "namespace": "apps-shop",
                        "horizontalpodautoscaler": "cart"},
    "KubeHpaReplicasMismatch": {**KSM, **KSM_POD, "namespace": "apps-shop",
                                "horizontalpodautoscaler": "cart"},
    "KubeNodeNotReady": {**KSM, **KSM_POD, "namespace": "monitoring", "node": "worker-3",
                         "condition": "Ready", "status": "true"},
    "NodeFilesystemSpaceFillingUp": NODE_EXPORTER,
    "NodeFilesystemAlmostOutOfSpace": NODE_EXPORTER,
}

# Labels for the alerts left alone: every object label a rule could read.
ANY_OBJECT = {**KSM, "namespace": "apps-shop", "pod": "cart-1", "deployment": "cart",
              "statefulset": "db", "daemonset": "agent", "job_name": "backup",
              "horizontalpodautoscaler": "cart", "node": "worker-3", "mountpoint": "/"}


def _stock_section() -> str:
    return (ROOT / "docs" / "stock-alerts.md").read_text(encoding="utf-8")


def _table_rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def answered() -> dict[str, str]:
    """docs/stock-alerts.md: stock alert -> the rule that answers it (the three-column table)."""
    return {row[0]: row[1] for row in _table_rows(_stock_section())
            if len(row) == 3 and row[0] != "Stock alert"}


def left_alone() -> list[str]:
    """docs/stock-alerts.md: the stock alerts deliberately not remediated (the two-column
    table)."""
    names = [name.strip() for row in _table_rows(_stock_section())
             if len(row) == 2 and row[0] != "Stock alert" for name in row[0].split(",")]
    return [name for name in names if re.fullmatch(r"[A-Za-z0-9]+", name)]


def stock_alert(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """A firing alert with `severity: warning` and these labels (`status` is a label here)."""
    sent = alert(name)
    sent["labels"] = {**sent["labels"], **labels}
    sent["fingerprint"] = fingerprint(sent["labels"])
    return sent


def simulate(tmp_path: Path, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = tmp_path / "alerts.json"
    body.write_text(json.dumps(payload(*alerts)), encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(body), "--rules", str(ROOT / "rules"), "--json"])
    assert result.exit_code == 0, result.output
    decisions: list[dict[str, Any]] = json.loads(result.output)
    return decisions


def test_the_page_lists_what_is_answered_and_what_is_left_alone() -> None:
    assert set(answered()) == set(STOCK_LABELS)
    assert len(left_alone()) > 10
    assert not set(answered()) & set(left_alone())


def test_every_answered_stock_alert_reaches_its_rule(tmp_path: Path) -> None:
    names = sorted(STOCK_LABELS)
    decisions = simulate(tmp_path, [stock_alert(name, STOCK_LABELS[name]) for name in names])
    got = {name: (d["outcome"], d["rule"]) for name, d in zip(names, decisions, strict=True)}
    unmatched = sorted(name for name, (outcome, _) in got.items() if outcome == "no_match")
    assert not unmatched, f"stock alerts that match no rule: {unmatched}"
    assert {name: rule for name, (_, rule) in got.items()} == answered()
    denied = {name: d.get("reason") for name, d in zip(names, decisions, strict=True)
              if d["outcome"] == "denied"}
    assert not denied, f"stock alerts denied with their real labels: {denied}"


@pytest.mark.parametrize("name", ["KubePodNotReady", "KubeContainerWaiting",
                                  "KubeDeploymentRolloutStuck", "KubeHpaReplicasMismatch"])
def test_a_stock_alert_whose_cause_is_unknown_waits_for_a_human(tmp_path: Path, name: str) -> None:
    [decision] = simulate(tmp_path, [stock_alert(name, STOCK_LABELS[name])])
    assert decision["outcome"] == "awaiting_approval"


def test_every_stock_alert_left_alone_matches_no_rule(tmp_path: Path) -> None:
    names = left_alone()
    decisions = simulate(tmp_path, [stock_alert(name, ANY_OBJECT) for name in names])
    matched = {name: d["rule"] for name, d in zip(names, decisions, strict=True)
               if d["outcome"] != "no_match"}
    assert not matched, f"docs/stock-alerts.md says these are left alone, but a rule answers them: {matched}"
