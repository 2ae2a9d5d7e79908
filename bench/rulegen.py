"""Generated rule files: the storm's one rule, and N rules for the cost-growth scenario.

Rule 0 is the example `restart-crashlooping-pod` (the storm's KubePodCrashLooping
alerts in apps-* hit it). Rules 1..N-1 each answer their own alertname
(`BenchSynthetic0001`, ...), which the storm never sends: they measure what it
costs to *not* match many rules, which an alertname index makes constant.
Files are JSON, which is YAML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CRASHLOOP_RULE: dict[str, Any] = {
    "name": "restart-crashlooping-pod",
    "matchers": ['alertname="KubePodCrashLooping"', 'namespace=~"apps-.*"'],
    "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
               "name": "{{ labels.pod }}"},
    "limits": {"cooldown": "10m", "max": 3, "per": "1h"},
    "verify": {"after": "5m"},
    "unless_firing": ['alertname="KubeNodeNotReady"'],
}


def synthetic_rule(index: int) -> dict[str, Any]:
    return {"name": f"bench-synthetic-{index:04d}",
            "matchers": [f'alertname="BenchSynthetic{index:04d}"', 'namespace=~"apps-.*"'],
            "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
                       "name": "{{ labels.pod }}"},
            "limits": {"cooldown": "10m", "max": 3, "per": "1h"}}


# Service settings that take the global rate limit and the breaker out of the way,
# for scenarios that need every decision to act (with a rule without `max`).
GUARDS_LIFTED = {"REMEDIATOR_GLOBAL_RATE_MAX": "1000000000",
                 "REMEDIATOR_BREAKER_MAX_ACTIONS": "1000000000",
                 "REMEDIATOR_BREAKER_MAX_FAILURES": "1000000"}


def write_rules(directory: Path, count: int, *, unlimited: bool = False) -> Path:
    """`count` rules in `directory`/rules.yml; returns the directory.

    `unlimited`: rule 0 without its rate limit (a short cooldown per target), so
    every new crash-looping pod gets a remediation (with `GUARDS_LIFTED`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    first = {**CRASHLOOP_RULE, "limits": {"cooldown": "1s"}} if unlimited else CRASHLOOP_RULE
    rules = [first, *(synthetic_rule(i) for i in range(1, count))]
    (directory / "rules.yml").write_text(json.dumps({"rules": rules}, indent=1) + "\n")
    return directory


def write_actions_rule(directory: Path, alertname: str, namespace: str) -> Path:
    """One delete_pod rule without limits that bite: every alert is one action."""
    directory.mkdir(parents=True, exist_ok=True)
    rule = {"name": "bench-delete-pod",
            "matchers": [f'alertname="{alertname}"', f'namespace="{namespace}"'],
            "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
                       "name": "{{ labels.pod }}"},
            "limits": {"cooldown": "1s"}}
    (directory / "rules.yml").write_text(json.dumps({"rules": [rule]}, indent=1) + "\n")
    return directory
