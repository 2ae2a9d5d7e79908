"""Engines, migrations and transactions for SQLite and PostgreSQL.

Every write that decides or appends to the audit log runs in `writing()`,
which serialises writers: SQLite through an in-process lock plus
`BEGIN IMMEDIATE`, PostgreSQL through a transaction-level advisory lock
shared by every replica. Serial writers are what make rate limits,
cooldowns and the audit hash chain exact, and they are cheap at the rates
remediation happens.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError

from remediator.store.audit.seal import AuditSeal, attach
from remediator.store.changes import ChangeCounts
from remediator.store.checkpoint import BACKSTOP_PAGES, Checkpointer
from remediator.store.fencing import end_stalled_holders
from remediator.store.timeouts import RESTORED_SESSION, UNBOUNDED_SESSION, Timeouts
from remediator.store.types import json_dumps

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"
_AFTER_COMMIT = "remediator.after_commit"
_BEFORE_COMMIT = "remediator.before_commit"
_SCRATCH = "remediator.scratch"
_CHANGES = "remediator.changes"
_ADVISORY_LOCK_ID = 0x52454D4544  # "REMED"
_MIGRATION_LOCK_ID = 0x52454D4D49  # "REMMI": apart from the writers' lock
_LOCK_NOT_AVAILABLE = "55P03"
_APPLICATION = f"remediator@{socket.gethostname()}"[:63]
"""pg_stat_activity's name for this replica's sessions (the pod's name in Kubernetes)."""
HEAD_REVISION = "0012chat"
"""The newest migration; a test keeps it equal to Alembic's head."""


class StoreUnavailable(Exception):
    """The database cannot be reached or is locked: the webhook answers 503."""


class Database:
    def __init__(self, url: str, *, busy_timeout_ms: int = 5000,
                 seal: AuditSeal | None = None, timeouts: Timeouts | None = None) -> None:
        self.url = url
        self.seal = seal
        """The audit chain's key (None: an unkeyed chain, tests); its head is a table."""
        self.is_sqlite = url.startswith("sqlite")
        self._lock = threading.Lock() if self.is_sqlite else None
        self._timeouts = timeouts or Timeouts()
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, busy_timeout_ms, immediate=True)
            self.reader = _sqlite_engine(url, busy_timeout_ms, immediate=False)
        else:
            # Bounded waits (store.timeouts): a stalled replica costs the others a
            # 503 for `lock` seconds, never a hang.
            self.writer = create_engine(url, pool_pre_ping=True, pool_size=8,
                                        json_serializer=json_dumps,
                                        connect_args={**self._timeouts.connect_args(),
                                                      "application_name": _APPLICATION})
            self.reader = self.writer
        if seal is not None:
            attach(self.writer, seal)
            attach(self.reader, seal)
        self._checkpointer: Checkpointer | None = None
        self.changes = ChangeCounts()
        """What this process's `writing()` transactions changed (`note_changed`)."""

    @property
    def display_url(self) -> str:
        """The URL with its password masked, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision.

        Alembic is imported only when the schema is behind: at start-up the
        usual answer is "already current", and the import costs ~0.3 s. On
        PostgreSQL, replicas starting together take turns under an advisory
        lock; the ones that follow find the schema current and do nothing.
        """
        if self.revision() == HEAD_REVISION:
            return
        if self.is_sqlite and self._create_from_snapshot():
            return
        self.migrate_with_alembic()

    def _create_from_snapshot(self) -> bool:
        """An empty SQLite file gets the head schema without Alembic (`store.snapshot`).

        False (Alembic runs) when the snapshot is stale or the file is not empty.
        The writer's BEGIN IMMEDIATE serialises processes starting together.
        """
        from remediator.store import snapshot

        script = snapshot.statements(HEAD_REVISION)
        if script is None:
            return False
        with self.writer.begin() as connection:
            if not snapshot.is_empty(connection):
                return False
            for statement in script:
                connection.exec_driver_sql(statement)
        return True

    def migrate_with_alembic(self) -> None:
        """Run Alembic's upgrade to head (any backend, any starting revision)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.writer.connect() as connection, self._migration_lock(connection):
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()

    @contextmanager
    def _migration_lock(self, connection: Connection) -> Iterator[None]:
        """A session-level advisory lock on PostgreSQL; on SQLite, one BEGIN IMMEDIATE
        transaction around the whole upgrade.

        Alembic commits after each migration on SQLite (no transactional DDL)
        unless it is handed a transaction already begun: then another process
        could read the revision between two of those commits and run a
        migration that was already done ("duplicate column"). Begun here,
        reading the revision and every migration happen under one write lock.
        """
        if self.is_sqlite:
            connection.begin()  # BEGIN IMMEDIATE (see _sqlite_engine); migrate commits
            yield
            return
        for statement in UNBOUNDED_SESSION:
            connection.exec_driver_sql(statement)
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        connection.commit()  # the lock is the session's; Alembic runs its own transaction
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:id)"),
                               {"id": _MIGRATION_LOCK_ID})
            for statement in RESTORED_SESSION:
                connection.exec_driver_sql(statement)
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
        """One serialised write transaction; commit on success, roll back on error.

        Callbacks registered with `after_commit` run once the commit is durable
        (log lines about decisions, the writer's memory of the audit head), never for a
        transaction that rolled back.
        """
        callbacks: list[Callable[[], None]] = []
        try:
            if self._lock is not None:
                with self._lock:
                    with self.writer.begin() as connection, _collecting(
                            connection, callbacks, self.changes):
                        yield connection
                    _run_callbacks(callbacks)  # still under the lock: in commit order
            else:
                with self.writer.begin() as connection:
                    self._take_writers_lock(connection)
                    with _collecting(connection, callbacks, self.changes):
                        yield connection
                _run_callbacks(callbacks)
        except OperationalError as error:
            raise StoreUnavailable(_short(error)) from error
        except DBAPIError as error:
            if error.connection_invalidated:
                raise StoreUnavailable(_short(error)) from error
            raise

    def _take_writers_lock(self, connection: Connection) -> None:
        """PostgreSQL: the transaction-level advisory lock every writer queues on.

        Timed out, it first ends a holder stalled where PostgreSQL's own
        timeouts do not reach (`store.fencing`), so the retry gets through.
        """
        try:
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                               {"id": _ADVISORY_LOCK_ID})
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                end_stalled_holders(self.writer, _ADVISORY_LOCK_ID,
                                    self._timeouts.idle_in_transaction)
            raise

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        try:
            with self.reader.connect() as connection:
                yield connection
        except OperationalError as error:
            raise StoreUnavailable(_short(error)) from error

    def checkpoint_in_background(self) -> None:
        """SQLite: copy the WAL into the database in a thread, not in committing writers.

        For the long-running service (`Services.start`); see `store.checkpoint`.
        """
        if self.is_sqlite and self._checkpointer is None:
            self._checkpointer = Checkpointer(self.reader)
            self._checkpointer.start()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self.seal is not None:
            self.seal.close()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def after_commit(connection: Connection, callback: Callable[[], None]) -> None:
    """Run `callback` once this `writing()` transaction has committed.

    Outside `writing()` (a test's own transaction) it runs at once.
    """
    callbacks = connection.info.get(_AFTER_COMMIT)
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


def before_commit(connection: Connection, callback: Callable[[], None]) -> None:
    """Run `callback` at the end of this `writing()` transaction, inside it, once its body
    has run without error: last statements that sum up the transaction (the audit head:
    one UPDATE per transaction, however many appends). Outside `writing()`: at once.
    """
    callbacks = connection.info.get(_BEFORE_COMMIT)
    if callbacks is None:
        callback()
    else:
        callbacks.append(callback)


def note_changed(connection: Connection, kind: str) -> None:
    """This `writing()` transaction changes rows of `kind` (`store.changes`): once it
    commits, the process's count for `kind` moves and reads cached under the old
    count are read again. Outside `writing()` there is no count to move."""
    changes: ChangeCounts | None = connection.info.get(_CHANGES)
    if changes is not None:
        after_commit(connection, lambda: changes.moved(kind))


def transaction_scratch(connection: Connection) -> dict[str, Any]:
    """A dict that lives as long as this `writing()` transaction (fresh outside one).

    Lets several appends in one transaction share work, e.g. one head
    checkpoint per commit instead of one per append.
    """
    scratch: dict[str, Any] | None = connection.info.get(_SCRATCH)
    return scratch if scratch is not None else {}


@contextmanager
def _collecting(connection: Connection, callbacks: list[Callable[[], None]],
                changes: ChangeCounts) -> Iterator[None]:
    # `info` belongs to the pooled DBAPI connection: never leave the list behind.
    # It is held here, not read again at the end: once the server has ended the
    # session (idle_in_transaction_session_timeout, a restart), `connection.info`
    # raises PendingRollbackError, which would hide the OperationalError that
    # makes the webhook answer 503 behind a 500.
    info = connection.info
    info[_AFTER_COMMIT] = callbacks
    closing: list[Callable[[], None]] = []
    info[_BEFORE_COMMIT] = closing
    info[_SCRATCH] = {}
    info[_CHANGES] = changes
    try:
        yield
        for callback in closing:  # not reached when the body raised: it rolls back
            callback()
    finally:
        for key in (_AFTER_COMMIT, _BEFORE_COMMIT, _SCRATCH, _CHANGES):
            info.pop(key, None)


def _run_callbacks(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # the commit stands; a hook must not turn it into an error
            log.exception("after-commit hook failed")


def _short(error: Exception) -> str:
    message = str(getattr(error, "orig", error)).strip().splitlines()
    return message[0] if message else type(error).__name__


def _sqlite_engine(url: str, busy_timeout_ms: int, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False},
                           json_serializer=json_dumps)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # transaction handling would defer it and lose IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        # A backstop: the service checkpoints in a thread (store.checkpoint).
        cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
