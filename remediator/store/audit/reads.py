"""The audit log as its readers see it: pages of entries, and the hash chain's check.

`AuditReads` opens one read transaction per call, so the faces (the API,
the page, `remediator audit`) hold no connection. It imports neither
pydantic nor the remediation model: `remediator audit` is what on-call runs
over and over, and must stay quick to start (tests/cli/test_cli_imports.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from remediator.store.audit import log
from remediator.store.audit.check import ChainReport
from remediator.store.audit.log import AuditQuery
from remediator.store.database import Database

FOLLOW_BATCH = 1000
"""At most this many new entries per `newer_than` (a follower polls again for the rest)."""


class AuditReads:
    """Read the audit log, one transaction per call."""

    def __init__(self, *, database: Database) -> None:
        self._database = database

    def query(self, q: AuditQuery) -> tuple[list[dict[str, Any]], int | None]:
        """Entries newest first, and the cursor for the next (older) page, if any."""
        with self._database.reading() as connection:
            return log.query(connection, q)

    def newer_than(self, q: AuditQuery, last_id: int) -> list[dict[str, Any]]:
        """Entries `q` selects appended after entry `last_id`, newest first (`--follow`).

        `q`'s time window is dropped: a follower wants what came since it last
        looked, however long ago `since` was.
        """
        with self._database.reading() as connection:
            items, _ = log.query(connection, replace(q, since=None, limit=FOLLOW_BATCH))
        return [e for e in items if int(e["id"]) > last_id]

    def between(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """What a report reads of every entry in `[since, until]`, oldest first."""
        with self._database.reading() as connection:
            return log.between(connection, since, until)

    def verify(self) -> ChainReport:
        """Recompute the hash chain, with the database's audit key when it has one."""
        with self._database.reading() as connection:
            return log.verify_chain(connection, seal=self._database.seal)
