"""Replicas starting at the same time against an empty PostgreSQL: one migrates, all start."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from remediator.store import Database
from remediator.store.database import HEAD_REVISION
from tests.support.postgres import create_database

_REPLICAS = 4


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", range(3))
def test_replicas_migrating_at_once_all_start(postgres_admin_url: str, attempt: int) -> None:
    # Without serialisation the replicas' DDL waits on each other for good:
    # lock_timeout turns that hang into a failure.
    url = create_database(postgres_admin_url, f"concurrent_migration_{attempt}")
    url += "?options=-c%20lock_timeout%3D20s"
    databases = [Database(url) for _ in range(_REPLICAS)]
    start = threading.Barrier(_REPLICAS)

    def replica(database: Database) -> str | None:
        start.wait()
        database.migrate()
        return database.revision()

    try:
        with ThreadPoolExecutor(_REPLICAS) as pool:
            revisions = list(pool.map(replica, databases))
    finally:
        for database in databases:
            database.dispose()

    assert revisions == [HEAD_REVISION] * _REPLICAS
