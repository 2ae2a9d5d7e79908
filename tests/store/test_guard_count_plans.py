"""The rate-limit and breaker counts read an index range of the rows that count.

Dry-runs forced by a missing capability count for nothing and are never
rate-limited, so a long storm fills the rate window with them; a count that
read every row of the window from the table became most of the webhook's time
(a 10-minute soak fell from 2,400 to 720 alerts/s). The plans come from the
statements `DatabaseState.actions_since` itself executes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from remediator.store import Database
from remediator.store.guard_state import DatabaseState

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
COUNTS = {  # rule -> the index that must serve its count of real actions
    "restart-pod": "ix_remediations_rule_counted",
    None: "ix_remediations_counted",
}


def executed(connection: Connection, rule: str | None,
             include_dry_run: bool) -> tuple[str, Any]:
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, params: Any, context: Any,
                executemany: bool) -> None:
        sent.append((sql, params))

    event.listen(connection, "before_cursor_execute", capture)
    try:
        DatabaseState(connection).actions_since(SINCE, rule=rule,
                                                include_dry_run=include_dry_run)
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    (statement,) = [s for s in sent if "count(" in s[0].lower()]
    return statement


@pytest.mark.parametrize("rule", list(COUNTS))
def test_the_counts_read_only_their_index_range(database: Database, rule: str | None) -> None:
    """SQLite: every key an equality or the window's range, from the index alone."""
    index = COUNTS[rule]
    with database.reading() as connection:
        sql, params = executed(connection, rule, include_dry_run=False)
        if not database.is_sqlite:  # PostgreSQL's choice on a small table is its own
            assert "count(" in sql.lower()
            names = {row[0] for row in connection.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'remediations'"))}
            assert set(COUNTS.values()) <= names
            return
        (line,) = [row[-1] for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, params)]
    assert line.startswith(f"SEARCH remediations USING COVERING INDEX {index} ("), line
    assert "counts=? AND dry_run=? AND created_at>?)" in line, line
