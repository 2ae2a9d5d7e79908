"""Durable state: audit log, remediations, job queue, controls (SQLAlchemy Core).

One code path for SQLite (default, one file, WAL) and PostgreSQL (HA).
"""

from remediator.store.database import Database, StoreUnavailable

__all__ = ["Database", "StoreUnavailable"]
