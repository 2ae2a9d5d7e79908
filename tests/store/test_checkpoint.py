"""SQLite's log is copied back in a thread, not by the writer whose commit crosses
the threshold (issue 11: those commits were the single sender's slowest answers),
and the log stays bounded when that thread does not run."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from remediator.store import Database
from remediator.store.checkpoint import BACKSTOP_PAGES, Checkpointer

PAGE = 4096


@pytest.fixture
def sqlite(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    with database.writing() as connection:
        connection.exec_driver_sql("CREATE TABLE filler (x BLOB)")
    return database


def fill(database: Database, pages: int) -> None:
    """One committed transaction of about `pages` log pages."""
    with database.writing() as connection:
        connection.exec_driver_sql("INSERT INTO filler VALUES (?)",
                                   [(bytes(PAGE - 200),) for _ in range(pages)])


def test_writers_leave_the_log_to_the_checkpointer_below_the_backstop(sqlite: Database) -> None:
    # SQLite's default would have a writer copy the log back once it passed
    # 1000 pages, and the next write would start the log over.
    fill(sqlite, 700)
    fill(sqlite, 700)
    fill(sqlite, 1)

    progress = Checkpointer(sqlite.reader).run_once()

    assert 1000 < progress.logged < BACKSTOP_PAGES  # past SQLite's own threshold, still whole
    assert progress.copied == progress.logged  # PASSIVE, and no reader held it back
    with sqlite.writer.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES


def test_after_a_checkpoint_the_next_write_starts_the_log_over(sqlite: Database) -> None:
    fill(sqlite, 300)
    Checkpointer(sqlite.reader).run_once()
    fill(sqlite, 5)

    assert Checkpointer(sqlite.reader).run_once().logged < 50


def test_the_service_thread_stops_with_the_database(sqlite: Database) -> None:
    sqlite.checkpoint_in_background()
    assert "sqlite-checkpoint" in {thread.name for thread in threading.enumerate()}

    sqlite.dispose()

    assert "sqlite-checkpoint" not in {thread.name for thread in threading.enumerate()}


def test_a_failing_checkpoint_is_said_once_and_its_recovery_once(
        sqlite: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="remediator.store.checkpoint")
    checkpointer = Checkpointer(create_engine(f"sqlite:///{tmp_path}"))  # a directory
    for _ in range(3):
        checkpointer.cycle()
    checkpointer._engine = sqlite.reader
    checkpointer.cycle()
    checkpointer.cycle()

    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        ("WARNING", "WAL checkpoint failed: unable to open database file (writers "
                    f"checkpoint themselves at {BACKSTOP_PAGES} pages meanwhile)"),
        ("INFO", "WAL checkpoints work again")]
