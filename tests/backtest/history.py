"""A small alert history, as OpenMetrics for promtool and as intervals for assertions.

Times are minutes after `base` (a whole hour two days ago), samples every 30 s
as a rule evaluated every 30 s would write them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

RULES = """\
rules:
  - name: restart-web
    matchers: ['alertname="PodCrashLooping"', 'namespace="apps-shop"']
    action:
      type: kubernetes.rollout_restart
      kind: deployment
      namespace: "{{ labels.namespace }}"
      name: "{{ labels.deployment }}"
    limits: {cooldown: 1h, max: 10, per: 6h}
  - name: restart-payments
    matchers: ['alertname="PodCrashLooping"', 'namespace="apps-payments"']
    action:
      type: kubernetes.rollout_restart
      kind: deployment
      namespace: "{{ labels.namespace }}"
      name: "{{ labels.deployment }}"
    approval: {required: true, timeout: 30m}
"""

WEB = {"alertname": "PodCrashLooping", "namespace": "apps-shop", "deployment": "web",
       "pod": "web-1"}
PAY = {"alertname": "PodCrashLooping", "namespace": "apps-payments", "deployment": "pay",
       "pod": "pay-1"}
API_1 = {"alertname": "PodCrashLooping", "namespace": "apps-shop", "deployment": "api",
         "pod": "api-1"}
API_2 = {**API_1, "pod": "api-2"}
WATCHDOG = {"alertname": "Watchdog", "severity": "none"}

# (labels, first minute, last minute) of each firing episode.
EPISODES: list[tuple[Mapping[str, str], float, float]] = [
    (WEB, 0, 10), (WEB, 15, 20), (WEB, 30, 40),  # flapping: one action, then cooldown
    (WEB, 120, 125),  # an hour later: acts again
    (PAY, 60, 80),  # needs approval
    (API_1, 180, 190), (API_2, 190.5, 200),  # series churn: the pod was replaced
    (WATCHDOG, 0, 300),  # matches no rule
]
END_MINUTES = 300


def openmetrics(base: datetime) -> str:
    """`ALERTS` samples of EPISODES (each firing one preceded by a minute pending)."""
    lines = ["# TYPE ALERTS gauge"]
    for labels, first, last in EPISODES:
        pending = _line({**labels, "alertstate": "pending"}, base, first - 1, first - 0.5)
        lines += pending
        lines += _line({**labels, "alertstate": "firing"}, base, first, last)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _line(labels: Mapping[str, str], base: datetime, first: float, last: float) -> list[str]:
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return [f"ALERTS{{{text}}} 1 {(base + timedelta(minutes=m)).timestamp():.0f}"
            for m in _minutes(first, last)]


def _minutes(first: float, last: float) -> Iterator[float]:
    m = first
    while m <= last:
        yield m
        m += 0.5
