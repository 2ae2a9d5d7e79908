"""Shared fixtures: clocks, databases (SQLite and a real PostgreSQL); parallel-run grouping.

scripts/test runs the suite on pytest-xdist workers (`--dist loadgroup`). Every
worker is its own process with its own session fixtures: its own PostgreSQL,
Prometheus and Alertmanager on free ports in temporary directories. Each test
file stays on one worker (its module fixtures start once) unless it names an
`xdist_group` of its own, which files that must never run beside each other
share. Tests marked `serial` assert wall-clock bounds: scripts/test runs them
alone after the parallel phase (`--serial-tests=skip`, then `=only`).
"""

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
_SERIAL_CHOICES = ("run", "skip", "only")
# Files that share a worker: one session stack of Prometheus and Alertmanager for
# the observability suite, and ansible-lint never beside molecule in the same roles.
_SHARED_GROUPS = {"tests/observability/": "observability-stack",
                  "tests/ansible/test_lint.py": "ansible-tools",
                  "tests/ansible/test_molecule.py": "ansible-tools"}


def _group(nodeid: str) -> str:
    path = nodeid.split("::")[0]
    return next((group for prefix, group in _SHARED_GROUPS.items()
                 if path.startswith(prefix)), path)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--serial-tests", choices=_SERIAL_CHOICES, default="run",
                     help="tests marked serial: run them (default), skip them (the parallel "
                          "phase of scripts/test) or run only them (its serial phase)")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    choice = config.getoption("--serial-tests")
    if choice != "run":
        wanted = choice == "only"
        keep, drop = [], []
        for item in items:
            (keep if (item.get_closest_marker("serial") is not None) == wanted else drop).append(item)
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(_group(item.nodeid)))


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
