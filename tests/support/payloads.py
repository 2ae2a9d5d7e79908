"""Alertmanager webhook payloads (version 4) exactly as Alertmanager sends them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from remediator.model.alerts import fingerprint

RUNBOOK = "https://runbooks.example.org/runbooks/{}.md"
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def alert(alertname: str = "KubePodCrashLooping", *, status: str = "firing",
          starts_at: datetime | None = None, runbook: bool = True,
          **labels: str) -> dict[str, Any]:
    labels = {"alertname": alertname, "severity": "warning", **labels}
    started = starts_at or START
    ends = "0001-01-01T00:00:00Z" if status == "firing" else _rfc3339(started + timedelta(hours=1))
    annotations = {"summary": f"{alertname} fired"}
    if runbook:
        annotations["runbook_url"] = RUNBOOK.format(alertname)
    return {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _rfc3339(started),
        "endsAt": ends,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint(labels),
    }


def payload(*alerts: dict[str, Any], group_key: str = '{}:{alertname="KubePodCrashLooping"}',
            ) -> dict[str, Any]:
    statuses = {a["status"] for a in alerts}
    common = dict(alerts[0]["labels"]) if alerts else {}
    for a in alerts[1:]:
        common = {k: v for k, v in common.items() if a["labels"].get(k) == v}
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if "firing" in statuses else "resolved",
        "receiver": "remediator",
        "groupLabels": {"alertname": common.get("alertname", "")},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def crashloop(pod: str = "web-1", namespace: str = "apps-a", *, status: str = "firing",
              starts_at: datetime | None = None, deployment: str = "web") -> dict[str, Any]:
    return alert("KubePodCrashLooping", status=status, starts_at=starts_at,
                 namespace=namespace, pod=pod, deployment=deployment)
