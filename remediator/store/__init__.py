"""Durable state: audit log, remediations, job queue, controls (SQLAlchemy Core).

One code path for SQLite (default, one file, WAL) and PostgreSQL (HA).

`Database` and `StoreUnavailable` load on first use: `store.location` (where
the store is, for `Settings` and the CLI) is pure, and `remediator --help`
or `serve --help` must not pay for SQLAlchemy to read it
(tests/cli/test_cli_imports.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from remediator.store.database import Database, StoreUnavailable

__all__ = ["Database", "StoreUnavailable"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from remediator.store import database

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
