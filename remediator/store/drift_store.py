"""The drift report's read: audit entries of changes to GitOps-managed targets.

Two indexed audit reads (`succeeded` actions and `reverted_by_gitops`
verifications) within `window`, folded by `evidence.drift.drift_items` into
one item per remediation, newest first. Bounded by `limit` per read: the
report is a to-do list for humans, not a history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from remediator.evidence.drift import CHANGES, REVERT, DriftItem, drift_items
from remediator.model.outcomes import Outcome
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.database import Database

DRIFT_WINDOW = timedelta(days=14)
_LIMIT = 2000


def drift_report(database: Database, *, now: datetime,
                 window: timedelta = DRIFT_WINDOW) -> list[DriftItem]:
    """Open drift: live changes remediator made that git does not hold (yet)."""
    since = now - window
    entries: list[dict[str, Any]] = []
    with database.reading() as connection:
        for outcome in (Outcome.SUCCEEDED, Outcome.REVERTED_BY_GITOPS):
            found, _ = audit.query(connection, AuditQuery(outcome=outcome.value, since=since,
                                                          limit=_LIMIT))
            entries.extend(e for e in found if outcome is Outcome.REVERTED_BY_GITOPS
                           or e.get("action") in CHANGES or e.get("action") == REVERT)
    entries.sort(key=lambda e: int(e["id"]))
    return list(reversed(drift_items(entries)))
