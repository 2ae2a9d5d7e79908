"""Shared fixtures: clocks, databases (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from remediator.model.clock import FakeClock
from remediator.store import Database
from tests.support.postgres import create_database, postgres_server

_counter = itertools.count()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    # Not under pytest's tmp dir: that is private to root, and the server runs
    # as the `postgres` user.
    base = Path(tempfile.mkdtemp(prefix="remediator-pg-"))
    try:
        with postgres_server(base) as url:
            yield url
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on both backends: one contract, two implementations."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'remediator.db'}"
    admin: str = request.getfixturevalue("postgres_admin_url")
    return create_database(admin, f"test_{next(_counter)}")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.migrate()
    yield db
    db.dispose()
