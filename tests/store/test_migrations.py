"""Migrations: Alembic's head is the revision start-up checks for, and it builds
exactly the schema the code uses."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from remediator.store import Database, snapshot
from remediator.store.database import _MIGRATIONS, HEAD_REVISION
from remediator.store.tables import metadata


def test_head_revision_constant_matches_alembic() -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrated_schema_has_every_table_and_index(database: Database) -> None:
    assert database.revision() == HEAD_REVISION
    inspector = inspect(database.reader)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= indexes, table.name


def test_migrate_twice_is_a_no_op(database: Database) -> None:
    database.migrate()
    assert database.revision() == HEAD_REVISION


def _schema(database: Database) -> str:
    with database.reader.connect() as connection:
        return snapshot.dump(connection, str(database.revision()))


def test_the_sqlite_snapshot_is_what_the_migrations_build(tmp_path: Path) -> None:
    regenerated = tmp_path / "sqlite_head.sql"
    snapshot.regenerate(regenerated)
    assert snapshot.SNAPSHOT.read_text() == regenerated.read_text(), (
        "a migration changed the schema: run `python -m remediator.store.snapshot`")


def test_a_new_sqlite_database_from_the_snapshot_equals_a_migrated_one(tmp_path: Path) -> None:
    migrated = Database(f"sqlite:///{tmp_path / 'alembic.db'}")
    migrated.migrate_with_alembic()
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.migrate()
    assert fresh.revision() == HEAD_REVISION
    assert _schema(fresh) == _schema(migrated)


@pytest.mark.parametrize("case", [
    pytest.param("stale", id="stale-snapshot"),
    pytest.param("not-empty", id="database-not-empty"),
])
def test_alembic_builds_the_schema_when_the_snapshot_does_not_apply(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    ran: list[str] = []
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    original = database.migrate_with_alembic
    monkeypatch.setattr(database, "migrate_with_alembic", lambda: ran.append("alembic") or
                        original())
    if case == "stale":
        stale = tmp_path / "stale.sql"
        stale.write_text(snapshot.SNAPSHOT.read_text().replace(HEAD_REVISION, "0001", 1))
        monkeypatch.setattr(snapshot, "SNAPSHOT", stale)
    else:
        with database.writer.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE notes (body TEXT)")
    database.migrate()
    assert ran == ["alembic"]
    assert database.revision() == HEAD_REVISION
    assert {t.name for t in metadata.sorted_tables} <= set(inspect(database.reader)
                                                          .get_table_names())
