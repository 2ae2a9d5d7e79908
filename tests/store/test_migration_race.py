"""Replicas starting at once on an empty database all come up (PostgreSQL and SQLite).

Without a lock, both see "no schema" and both create it: one dies with
UniqueViolation (2 of 4 trials in the review). Real processes, real server.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from remediator.store import Database
from remediator.store.database import HEAD_REVISION

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 3
REPLICAS = 3
_MIGRATE = "import sys; from remediator.store import Database; Database(sys.argv[1]).migrate()"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("trial", range(TRIALS))
def test_replicas_migrating_an_empty_database_at_once_all_succeed(
        database_url: str, trial: int) -> None:
    url = database_url
    processes = [subprocess.Popen([sys.executable, "-c", _MIGRATE, url], cwd=ROOT,
                                  stderr=subprocess.PIPE, text=True,
                                  env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
                 for _ in range(REPLICAS)]
    failures = []
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            failures.append(stderr.strip().splitlines()[-1:])
    assert failures == []
    database = Database(url)
    try:
        assert database.revision() == HEAD_REVISION
    finally:
        database.dispose()
