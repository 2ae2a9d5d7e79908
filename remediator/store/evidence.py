"""Evidence rows: one snapshot per phase of a remediation, with its hints.

Also the read of firing alerts that the diagnosis hints use (`co_firing`,
`node_not_ready`, `dependency_down`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select

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


RELATED_LIMIT = 50
"""Firing alerts read per relation (node alerts, same node or namespace, depended-on
services). A cluster-wide storm fires thousands in one namespace; `co_firing` then
says "at least" this many instead of every action decoding all of them."""


def firing_alerts(connection: Connection, *, node: str | None = None,
                  namespace: str | None = None, services: Sequence[str] = (),
                  limit: int = RELATED_LIMIT) -> tuple[list[dict[str, Any]], bool]:
    """Alerts stored as firing that a hint could use, and whether the node/namespace
    relation was capped (then `co_firing`'s count is a lower bound).

    Fingerprint, alertname, labels and when they started, oldest first. The
    relations are the hints' own (`remediator.diagnosis.Related`): node alerts
    on this node (`node_not_ready`, read apart so a crowded namespace cannot
    crowd them out), alerts on the same node or in the same namespace
    (`co_firing`), alerts of the services this one depends on
    (`dependency_down`). The filter runs in the database (JSON label lookups
    on SQLite and PostgreSQL alike), each relation at most `limit` rows; with
    nothing to relate to, nothing is read.
    """
    node_is = alerts.c.labels["node"].as_string() == node
    relations = []
    if node:
        relations.append(and_(node_is, func.lower(alerts.c.alertname).contains("node")))
    scope = [node_is] if node else []
    if namespace:
        scope.append(alerts.c.labels["namespace"].as_string() == namespace)
    counted = or_(*scope) if scope else None
    if counted is not None:
        relations.append(counted)
    if services:
        relations.append(alerts.c.labels["service"].as_string().in_(list(services)))
    found: dict[str, dict[str, Any]] = {}
    capped = False
    for relation in relations:
        rows = connection.execute(
            select(alerts.c.fingerprint, alerts.c.alertname, alerts.c.labels, alerts.c.starts_at)
            .where(alerts.c.status == "firing", relation)
            .order_by(alerts.c.starts_at, alerts.c.fingerprint).limit(limit)).all()
        capped = capped or (relation is counted and len(rows) >= limit)
        for r in rows:
            found[r.fingerprint] = {"fingerprint": r.fingerprint, "alertname": r.alertname,
                                    "labels": r.labels, "starts_at": r.starts_at}
    return sorted(found.values(), key=lambda a: (a["starts_at"], a["fingerprint"])), capped
