"""The audit head as the database holds it, as gauges: the external witness.

Every replica reports the one head, read every few seconds; Prometheus keeps
its history outside the database, so a head put back to an older signed
record (with the entries after it deleted) shows as a drop, which
RemediatorAuditHeadWentBack reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

from remediator.store import Database
from remediator.store.audit.head import stored_head


@dataclass(frozen=True)
class AuditHeadMetrics:
    head_id: Gauge
    head_count: Gauge
    stalled: Gauge

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> AuditHeadMetrics:
        return cls(
            head_id=Gauge(
                "remediator_audit_head_id",
                "Newest audit entry id named by the signed head record in the database "
                "(0: no head record).", registry=registry),
            head_count=Gauge(
                "remediator_audit_head_count",
                "Audit entries ever appended, per the signed head record (0: no head "
                "record); never decreases.", registry=registry),
            stalled=Gauge(
                "remediator_audit_head_stalled",
                "1 when this process stopped moving the audit head because the database "
                "disagreed with it (run `remediator audit verify`).", registry=registry),
        )


def audit_head_gauges(database: Database, gauges: AuditHeadMetrics) -> None:
    """Set the gauges from the head record the database holds (0 when there is none)."""
    head = stored_head(database)
    gauges.head_id.set(head.id if head is not None else 0)
    gauges.head_count.set(head.count if head is not None else 0)
    stalled = database.seal is not None and database.seal.stalled
    gauges.stalled.set(1 if stalled else 0)
