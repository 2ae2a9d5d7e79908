"""`remediator_drift_objects`: open GitOps drift, as a gauge read from the audit log.

Counts the live changes on GitOps-managed targets that git does not hold
and that the controller has not put back (`store.drift_store`). Refreshed
every minute by the scheduler; RemediatorDriftUnresolved fires when it
stays above zero (alerts/, runbooks/RemediatorDriftUnresolved.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge

from remediator.store import Database
from remediator.store.drift_store import drift_report


@dataclass(frozen=True)
class DriftMetrics:
    objects: Gauge

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> DriftMetrics:
        return cls(objects=Gauge(
            "remediator_drift_objects",
            "Live changes remediator made on GitOps-managed targets that git does not hold "
            "yet and the controller has not reverted (`remediator drift`).",
            registry=registry))


def refresh_drift(database: Database, metrics: DriftMetrics, now: datetime) -> int:
    open_items = sum(1 for item in drift_report(database, now=now) if not item.reverted)
    metrics.objects.set(open_items)
    return open_items
