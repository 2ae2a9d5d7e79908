"""Where each approval request was posted in chat, so any replica can update it later.

Rows are small and short-lived (an approval times out in minutes): each
`remember` forgets the rows posted more than `KEEP` ago, so the table never
needs its own retention job.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from remediator.store import upsert
from remediator.store.database import Database
from remediator.store.operating import OperatorStore
from remediator.store.tables import chat_messages

KEEP = timedelta(days=7)


@dataclass(frozen=True)
class Posted:
    integration: str
    """`slack` or `mattermost`."""
    channel: str
    ref: str
    """Slack's message `ts`, or Mattermost's post id."""


class ChatStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._operators = OperatorStore(database)

    def remember(self, remediation_id: str, posted: Posted, *, now: datetime) -> None:
        values = {"channel": posted.channel, "ref": posted.ref, "posted_at": now}
        with self.database.writing() as connection:
            connection.execute(delete(chat_messages).where(
                chat_messages.c.posted_at < now - KEEP))
            stmt = upsert.insert(connection, chat_messages).values(
                remediation_id=remediation_id, integration=posted.integration, **values)
            connection.execute(stmt.on_conflict_do_update(
                index_elements=["remediation_id", "integration"], set_=values))

    def posted(self, remediation_ids: Collection[str]) -> dict[str, list[Posted]]:
        """Where each of these remediations' requests went (one query for a batch)."""
        if not remediation_ids:
            return {}
        with self.database.reading() as connection:
            rows = connection.execute(select(chat_messages).where(
                chat_messages.c.remediation_id.in_(list(remediation_ids)))).all()
        found: dict[str, list[Posted]] = {}
        for row in rows:
            found.setdefault(row.remediation_id, []).append(
                Posted(row.integration, row.channel, row.ref))
        return found

    def claim_audit_entries(self, *, cursor: str, now: datetime) -> list[dict[str, Any]]:
        """The audit entries past the chat relay's own cursor (`OperatorStore`'s claim)."""
        return self._operators.claim_audit_entries(cursor=cursor, now=now)
