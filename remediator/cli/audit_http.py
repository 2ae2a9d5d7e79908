"""The audit log's reads over the service's `GET /api/v1/audit`, for `remediator audit
--server`: the same two reads as the store's `AuditReads` (a page, and what is newer
than the last entry shown), so the table, the JSON lines and `--follow` are the same
code in both modes.

No pydantic and no SQLAlchemy: `audit` is the command on-call runs over and over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from remediator.cli.remote import Client

PAGE = 1000
"""The API's largest page (`limit` ≤ 1000); a larger `--limit` is read page by page."""
FOLLOW_PAGES = 10
"""`--follow` reads at most this many pages per poll (as the store reads one batch)."""


@dataclass(frozen=True, kw_only=True)
class HttpAuditQuery:
    """`AuditQuery`'s filters as the API's query parameters."""

    rule: str | None = None
    alertname: str | None = None
    namespace: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100

    def params(self) -> dict[str, str]:
        given = {"rule": self.rule, "alertname": self.alertname, "namespace": self.namespace,
                 "outcome": self.outcome,
                 "since": self.since.isoformat() if self.since else None,
                 "until": self.until.isoformat() if self.until else None}
        return {name: value for name, value in given.items() if value is not None}


class HttpAuditReads:
    """Pages of `GET /api/v1/audit`, newest first, as `AuditReads` answers them."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def query(self, q: HttpAuditQuery) -> tuple[list[dict[str, Any]], int | None]:
        """Up to `q.limit` entries newest first, following the API's cursor."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(items) < q.limit:
            page = self._page(q, min(PAGE, q.limit - len(items)), cursor)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor or not page["items"]:
                break
        return items, int(cursor) if cursor else None

    def newer_than(self, q: HttpAuditQuery, last_id: int) -> list[dict[str, Any]]:
        """Entries `q` selects after entry `last_id`, newest first; `since` is dropped,
        as the store's `newer_than` drops it."""
        q = replace(q, since=None)
        fresh: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(FOLLOW_PAGES):
            page = self._page(q, PAGE, cursor)
            newer = [e for e in page["items"] if int(e["id"]) > last_id]
            fresh.extend(newer)
            cursor = page.get("next_cursor")
            if len(newer) < len(page["items"]) or not cursor:
                break
        return fresh

    def _page(self, q: HttpAuditQuery, limit: int, cursor: str | None) -> dict[str, Any]:
        params = {**q.params(), "limit": str(limit)}
        if cursor:
            params["cursor"] = cursor
        page: dict[str, Any] = self._client.get("/api/v1/audit", params)
        return page
