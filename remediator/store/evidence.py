"""Evidence rows: one snapshot per phase of a remediation, with its hints.

Also the read of firing alerts that the diagnosis hints use (`co_firing`,
`node_not_ready`, `dependency_down`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, insert, select

from remediator.store.tables import FIRING_ONLY, alerts, label_key
from remediator.store.tables import evidence as evidence_table

BEFORE = "before"
FAILURE = "failure"
REPORT = "report"
"""A diagnostic play's report, kept when its action settles (`evidence.reports`)."""

_INSERT = insert(evidence_table)  # built once: every action saves its evidence


def save(connection: Connection, *, remediation_id: str, phase: str, at: datetime,
         document: Mapping[str, Any], hints: Sequence[Mapping[str, Any]]) -> None:
    connection.execute(_INSERT, {
        "remediation_id": remediation_id, "phase": phase, "gathered_at": at,
        "document": dict(document), "hints": [dict(h) for h in hints]})


def for_remediation(connection: Connection, remediation_id: str) -> list[dict[str, Any]]:
    """Every snapshot of one remediation, oldest first, as plain JSON data."""
    rows = connection.execute(
        select(evidence_table).where(evidence_table.c.remediation_id == remediation_id)
        .order_by(evidence_table.c.id)).all()
    return [{"phase": row.phase, "gathered_at": row.gathered_at.isoformat(),
             "document": row.document, "hints": row.hints} for row in rows]


_Found = Row[str, str, Any, datetime]
"""A related alert as read: fingerprint, alertname, labels, starts_at."""

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
    (`dependency_down`); each at most `limit` rows, the first by
    `(starts_at, fingerprint)`. With nothing to relate to, nothing is read.

    Each read is an index range of the label columns (`ix_alerts_firing_*`) that
    stops at the limit: a JSON label filter read every firing row, so in a storm
    of thousands in one namespace every action scanned them all (11 % of the
    service's CPU at 1,000 queued actions). A value no column can hold (longer
    than `LABEL_KEY_MAX`) relates to nothing and is not queried.
    """
    node = node if node and label_key(node) is not None else None
    namespace = namespace if namespace and label_key(namespace) is not None else None
    wanted = sorted({s for s in services if label_key(s) is not None})
    found: dict[str, _Found] = {}
    if node:
        found.update(_by_fingerprint(_first(
            connection, alerts.c.node == node,
            func.lower(alerts.c.alertname).contains("node"), limit=limit)))
    capped = False
    if node or namespace:
        scope = [column == value for column, value in
                 ((alerts.c.node, node), (alerts.c.namespace, namespace)) if value]
        rows, capped = _first_of_any(connection, scope, limit)
        found.update(_by_fingerprint(rows))
    if wanted:
        rows, _ = _first_of_any(connection, [alerts.c.service == s for s in wanted], limit)
        found.update(_by_fingerprint(rows))
    return [_as_dict(row) for row in sorted(found.values(), key=_order)], capped


def _first_of_any(connection: Connection, conditions: Sequence[ColumnElement[bool]],
                  limit: int) -> tuple[list[_Found], bool]:
    """The first `limit` firing alerts matching any of `conditions`, and whether
    there were that many.

    One index range per condition, merged: an OR (or an IN, which SQLite
    answers from `ix_alerts_status` and a sort) would read no index in order.
    The first `limit` of the union are among the first `limit` of each part,
    and the union holds `limit` rows exactly when the relation does (a part cut
    at `limit` alone has that many).
    """
    union = _by_fingerprint(row for condition in conditions
                            for row in _first(connection, condition, limit=limit))
    return sorted(union.values(), key=_order)[:limit], len(union) >= limit


def _first(connection: Connection, *where: ColumnElement[bool], limit: int) -> list[_Found]:
    """The first `limit` firing alerts matching `where`, by `(starts_at, fingerprint)`."""
    return list(connection.execute(
        select(alerts.c.fingerprint, alerts.c.alertname, alerts.c.labels, alerts.c.starts_at)
        .where(FIRING_ONLY, *where)
        .order_by(alerts.c.starts_at, alerts.c.fingerprint).limit(limit)).all())


def _by_fingerprint(rows: Iterable[_Found]) -> dict[str, _Found]:
    return {row.fingerprint: row for row in rows}


def _order(row: _Found) -> tuple[datetime, str]:
    return row.starts_at, row.fingerprint


def _as_dict(row: _Found) -> dict[str, Any]:
    return {"fingerprint": row.fingerprint, "alertname": row.alertname,
            "labels": row.labels, "starts_at": row.starts_at}
