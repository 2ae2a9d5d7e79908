"""Migration 0011 (sessions, login_failures) on a database the previous release (0008)
filled: its data and audit chain stay as they were, sessions work, and it downgrades."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, func, inspect, select

from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.store import Database
from remediator.store.audit.log import verify_chain
from remediator.store.database import _MIGRATIONS, HEAD_REVISION
from remediator.store.sessions import SessionRecord, SessionStore, find, open_session
from remediator.store.tables import audit, remediations
from tests.store.conftest import make_intake
from tests.support.payloads import crashloop

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NEW = {"sessions", "login_failures"}


def _alembic(database: Database, verb: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with database.writer.connect() as connection:
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)
        connection.commit()


def _tables(url: str) -> set[str]:
    engine = create_engine(url)  # not a pooled connection's cached view of the schema
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _counts(database: Database) -> tuple[int, int]:
    with database.reading() as connection:
        return (connection.execute(select(func.count()).select_from(audit)).scalar_one(),
                connection.execute(select(func.count()).select_from(remediations)).scalar_one())


def test_migration_0011_on_a_database_filled_by_0008(database_url: str, rules_dir: Path) -> None:
    database = Database(database_url)
    _alembic(database, "upgrade", "0008")
    assert database.revision() == "0008" and not NEW & _tables(database_url)
    intake = make_intake(database, rules_dir, FakeClock(T0))
    intake.receive([Alert.model_validate(crashloop(pod=f"web-{n}")) for n in range(3)],
                   group_key="g")
    before = _counts(database)
    assert before[0] >= 3

    database.migrate()
    assert database.revision() == HEAD_REVISION
    assert _tables(database_url) >= NEW
    assert _counts(database) == before
    with database.reading() as connection:
        assert verify_chain(connection).ok
    record = SessionRecord(id="ab" * 32, actor="webhook-token", can_act=True, csrf="c",
                           created_at=T0, last_seen_at=T0, expires_at=T0 + timedelta(hours=12),
                           client="192.0.2.1", user_agent="x" * 1000)
    with database.writing() as connection:
        open_session(connection, record, forget_before=T0 - timedelta(days=7))
    store = SessionStore(database)
    found = store.find(record.id)
    assert found is not None and found.user_agent == "x" * 256  # bounded, never an error
    assert store.reserve_attempt("192.0.2.1", at=T0, since=T0 - timedelta(minutes=5),
                                 per_client=1, overall=2) is not None
    assert store.nth_failures(since=T0 - timedelta(minutes=5), client="192.0.2.1",
                              per_client=1, overall=2) == (T0, None)

    _alembic(database, "downgrade", "0008")
    assert not NEW & _tables(database_url)
    assert _counts(database) == before
    database.migrate()
    with database.reading() as connection:
        assert find(connection, record.id) is None  # the downgrade dropped them
    database.dispose()
