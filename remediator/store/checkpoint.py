"""SQLite WAL checkpoints off the commit path.

A checkpoint copies the write-ahead log back into the database file and
fsyncs it. SQLite runs one in whichever connection commits once the log
passes its threshold (1000 pages by default): that commit, a webhook's
answer, waits for the copy. In a storm that was every few deliveries, and
those were the single sender's slowest answers (issue 11: p99 32 -> 28 ms,
measured with checkpoints off the path).

Here a thread checkpoints every `interval`, with its own connection, in
PASSIVE mode: it never waits for or blocks a writer or a reader, it copies
what no reader still needs. SQLite's own checkpoint stays as a backstop at
`BACKSTOP_PAGES` (see `database._sqlite_engine`), so the log stays bounded
(16 MiB) should this thread fall behind or not run at all (the CLI, tests).
"""

from __future__ import annotations

import logging
import threading
from typing import NamedTuple

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 4000
"""Log pages (4 KiB) at which a committing writer checkpoints itself."""


class Progress(NamedTuple):
    """What one checkpoint found: pages in the log, and how many are now in the database."""

    logged: int
    copied: int


class Checkpointer:
    """The thread, and one checkpoint on demand (`run_once`, for tests)."""

    def __init__(self, engine: Engine, *, interval: float = 0.25) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def run_once(self) -> Progress:
        """One PASSIVE checkpoint (cheap when the log is empty)."""
        with self._engine.connect() as connection:
            row = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return Progress(logged=int(row[1]), copied=int(row[2]))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.cycle()

    def cycle(self) -> None:
        """One checkpoint; a failure is said once per failing spell, not four times a
        second, and so is the recovery (the backstop bounds the log meanwhile)."""
        try:
            self.run_once()
        except Exception as error:
            if not self._failing:
                cause = error.orig if isinstance(error, DBAPIError) else error
                log.warning("WAL checkpoint failed: %s (writers checkpoint themselves at %d "
                            "pages meanwhile)", str(cause).strip()[:200], BACKSTOP_PAGES)
            self._failing = True
            return
        if self._failing:
            log.info("WAL checkpoints work again")
            self._failing = False
