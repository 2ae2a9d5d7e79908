"""Shared fixtures: clocks, databases (SQLite and a real PostgreSQL); parallel-run grouping.

scripts/test runs the suite on pytest-xdist workers (`--dist loadfile`). Every
worker is its own process with its own session fixtures: its own PostgreSQL,
Prometheus and Alertmanager on free ports in temporary directories. Each test
file stays on one worker (its module fixtures start once); the files of one
`_SHARED_GROUPS` entry go to the same worker, one after the other. Tests marked
`serial` assert wall-clock bounds: scripts/test runs them alone after the
parallel phase (`--serial-tests=skip`, then `=only`).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    choice = config.getoption("--serial-tests")
    if choice == "run":
        return
    wanted = choice == "only"
    keep, drop = [], []
    for item in items:
        (keep if (item.get_closest_marker("serial") is not None) == wanted else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, with the files of a shared group sent to one worker as one unit.

    (Not `xdist_group` marks and `--dist loadgroup`: pytest-xdist 3.8 tags their
    node ids in a way pytest 9.2 no longer reads, so every test went its own way.)
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedGroupScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid)

    return SharedGroupScheduling(config, log)


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
