"""Migrations: Alembic's head is the revision start-up checks for, and it builds
exactly the schema the code uses."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from remediator.store import Database
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
