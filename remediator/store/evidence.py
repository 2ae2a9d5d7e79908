"""Evidence rows: one snapshot per phase of a remediation, with its hints.

Also the read of firing alerts that the diagnosis hints use (`co_firing`,
`node_not_ready`, `dependency_down`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from remediator.store.tables import alerts
from remediator.store.tables import evidence as evidence_table

BEFORE = "before"
FAILURE = "failure"


def save(connection: Connection, *, remediation_id: str, phase: str, at: datetime,
         document: Mapping[str, Any], hints: Sequence[Mapping[str, Any]]) -> None:
    connection.execute(insert(evidence_table).values(
        remediation_id=remediation_id, phase=phase, gathered_at=at, document=dict(document),
        hints=[dict(h) for h in hints]))


def for_remediation(connection: Connection, remediation_id: str) -> list[dict[str, Any]]:
    """Every snapshot of one remediation, oldest first, as plain JSON data."""
    rows = connection.execute(
        select(evidence_table).where(evidence_table.c.remediation_id == remediation_id)
        .order_by(evidence_table.c.id)).all()
    return [{"phase": row.phase, "gathered_at": row.gathered_at.isoformat(),
             "document": row.document, "hints": row.hints} for row in rows]


def firing_alerts(connection: Connection) -> list[dict[str, Any]]:
    """Alerts stored as firing: fingerprint, alertname, labels and when they started."""
    rows = connection.execute(select(alerts.c.fingerprint, alerts.c.alertname, alerts.c.labels,
                                     alerts.c.starts_at).where(alerts.c.status == "firing"))
    return [{"fingerprint": r.fingerprint, "alertname": r.alertname, "labels": r.labels,
             "starts_at": r.starts_at} for r in rows]
