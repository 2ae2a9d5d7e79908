"""Engines, migrations and transactions for SQLite and PostgreSQL.

Every write that decides or appends to the audit log runs in `writing()`,
which serialises writers: SQLite through an in-process lock plus
`BEGIN IMMEDIATE`, PostgreSQL through a transaction-level advisory lock
shared by every replica. Serial writers are what make rate limits,
cooldowns and the audit hash chain exact, and they are cheap at the rates
remediation happens.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

_MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_LOCK_ID = 0x52454D4544  # "REMED"
HEAD_REVISION = "0005"  # evidence (the lead re-chains migrations at merge)
"""The newest migration; a test keeps it equal to Alembic's head."""


class StoreUnavailable(Exception):
    """The database cannot be reached or is locked: the webhook answers 503."""


class Database:
    def __init__(self, url: str, *, busy_timeout_ms: int = 5000) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._lock = threading.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, busy_timeout_ms, immediate=True)
            self.reader = _sqlite_engine(url, busy_timeout_ms, immediate=False)
        else:
            self.writer = create_engine(url, pool_pre_ping=True, pool_size=8)
            self.reader = self.writer

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision.

        Alembic is imported only when the schema is behind: at start-up the
        usual answer is "already current", and the import costs ~0.3 s.
        """
        if self.revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.writer.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()

    def revision(self) -> str | None:
        """The schema's Alembic revision, or None for an empty database."""
        with self.reader.connect() as connection:
            try:
                value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:
                return None
        return str(value) if value is not None else None

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One serialised write transaction; commit on success, roll back on error."""
        try:
            if self._lock is not None:
                with self._lock, self.writer.begin() as connection:
                    yield connection
            else:
                with self.writer.begin() as connection:
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                                       {"id": _ADVISORY_LOCK_ID})
                    yield connection
        except OperationalError as error:
            raise StoreUnavailable(_short(error)) from error
        except DBAPIError as error:
            if error.connection_invalidated:
                raise StoreUnavailable(_short(error)) from error
            raise

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        try:
            with self.reader.connect() as connection:
                yield connection
        except OperationalError as error:
            raise StoreUnavailable(_short(error)) from error

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _short(error: Exception) -> str:
    message = str(getattr(error, "orig", error)).strip().splitlines()
    return message[0] if message else type(error).__name__


def _sqlite_engine(url: str, busy_timeout_ms: int, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # transaction handling would defer it and lose IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
