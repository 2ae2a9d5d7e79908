"""INSERT ... ON CONFLICT for the connection's dialect, importing only that dialect.

Both dialects spell the upsert the same way (`on_conflict_do_update`,
`excluded`); importing the PostgreSQL dialect costs a SQLite service tens of
milliseconds of every start (issue 11), so it is imported when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Table

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresqlInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert


def insert(connection: Connection, table: Table) -> PostgresqlInsert | SqliteInsert:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
