"""The audit head in the database: one for every replica, outliving restarts, never
re-anchored silently.

Each test runs on SQLite and on a real PostgreSQL. Writers are separate
`Database` objects (own engines, own `AuditSeal` read from the one key file),
as two replicas or a restarted process are. An attacker works behind the
service's back with plain SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from remediator.actions.registry import ActionRegistry
from remediator.app.scheduler import refresh_audit_head
from remediator.app.services import Services
from remediator.app.settings import load_settings
from remediator.cli import app
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditRecord
from remediator.store.audit.seal import AuditSeal
from remediator.store.database import HEAD_REVISION
from remediator.store.location import audit_files
from tests.store import previous_release
from tests.support.payloads import crashloop

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "audit.key"
    AuditSeal.open(path, tmp_path / "unused.audit-head")  # generates it
    return path


def _writer(url: str, key_file: Path) -> Database:
    """A replica, or the service after a restart: a new engine and a new seal."""
    database = Database(url, seal=AuditSeal.open(key_file, key_file.with_suffix(".head"),
                                                 create=False))
    database.migrate()
    return database


@pytest.fixture
def replicas(database_url: str, key_file: Path) -> Iterator[list[Database]]:
    started = [_writer(database_url, key_file), _writer(database_url, key_file)]
    yield started
    for database in started:
        database.dispose()


def _append(database: Database, clock: FakeClock, entries: int = 1) -> None:
    with database.writing() as connection:
        audit.append(connection, [AuditRecord(ts=clock(), outcome="no_match",
                                              alertname=f"A{i}") for i in range(entries)])
    clock.advance(timedelta(seconds=1))


def _sql(database: Database, *statements: str) -> None:
    with database.writer.begin() as connection:  # behind the service's back
        for statement in statements:
            connection.execute(text(statement))


def _verify(database: Database) -> audit.ChainReport:
    with database.reading() as connection:
        return audit.verify_chain(connection, seal=database.seal)


def _head_row(database: Database) -> tuple[int, str, int, str] | None:
    with database.reading() as connection:
        row = connection.execute(text(
            "SELECT entry_id, hash, count, mac FROM audit_head")).first()
    return None if row is None else (int(row[0]), str(row[1]), int(row[2]), str(row[3]))


def _stalled(database: Database) -> bool:
    return database.seal is not None and database.seal.stalled


def test_two_writers_move_one_head_and_either_verifies_the_whole_chain(
        replicas: list[Database], clock: FakeClock) -> None:
    a, b = replicas
    for round_ in range(4):
        _append(a, clock, entries=1 + round_ % 3)
        _append(b, clock, entries=2)
    total = sum(1 + r % 3 for r in range(4)) + 4 * 2
    for database in replicas:
        report = _verify(database)
        assert report.ok, report.problem
        assert report.checked == total
        assert report.head is not None and report.head.count == total
        assert report.after_head == 0  # the head moved in every writer's transaction
    assert not _stalled(a) and not _stalled(b)


def test_a_rolled_back_transaction_leaves_the_head_where_it_was(replicas: list[Database],
                                                                clock: FakeClock) -> None:
    a, b = replicas
    _append(a, clock, entries=2)
    before = _head_row(a)

    def failing_decision() -> None:
        with a.writing() as connection:
            audit.append(connection, [AuditRecord(ts=clock(), outcome="no_match")])
            raise RuntimeError("the decision failed after its audit entry")

    with pytest.raises(RuntimeError):
        failing_decision()
    assert _head_row(a) == before
    _append(a, clock)
    _append(b, clock)
    assert not _stalled(a) and not _stalled(b)
    report = _verify(a)
    assert report.ok, report.problem
    assert report.head is not None and report.head.count == 4


def test_deleting_the_newest_entries_and_the_head_is_reported_and_never_reanchored(
        replicas: list[Database], database_url: str, key_file: Path, clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    for database in replicas * 3:
        _append(database, clock, entries=2)
    _sql(replicas[0], "DELETE FROM audit WHERE id > 8", "DELETE FROM audit_head")
    for database in replicas:  # both pods restart
        database.dispose()
    restarted = [_writer(database_url, key_file), _writer(database_url, key_file)]
    try:
        for database in restarted:
            _append(database, clock)
            assert _stalled(database)
        assert "no head record in the database, but the chain has keyed entries" in caplog.text
        assert _head_row(restarted[0]) is None  # no new head was started from what is left
        for database in restarted:
            report = _verify(database)
            assert not report.ok
            assert "no audit head record in the database" in report.problem
    finally:
        for database in restarted:
            database.dispose()


def test_deleting_the_newest_entries_stalls_a_restarted_writer(
        replicas: list[Database], database_url: str, key_file: Path,
        clock: FakeClock) -> None:
    for database in replicas * 3:
        _append(database, clock, entries=2)
    head_before = _head_row(replicas[0])
    _sql(replicas[0], "DELETE FROM audit WHERE id > 9")
    restarted = _writer(database_url, key_file)
    try:
        _append(restarted, clock, entries=3)
        assert _stalled(restarted)
        assert _head_row(restarted) == head_before  # kept as evidence
        assert not _verify(restarted).ok
    finally:
        restarted.dispose()


def test_a_head_deleted_under_a_running_writer_stalls_it(replicas: list[Database],
                                                         clock: FakeClock) -> None:
    a, _ = replicas
    _append(a, clock)
    _append(a, clock)
    _sql(a, "DELETE FROM audit_head")
    _append(a, clock)  # the fast path's UPDATE finds no row naming the head it wrote
    assert _stalled(a)
    assert _head_row(a) is None
    assert "no audit head record" in _verify(a).problem


def test_an_older_head_put_back_is_refused_by_a_writer_that_saw_a_newer_one(
        replicas: list[Database], clock: FakeClock) -> None:
    a, b = replicas
    _append(a, clock, entries=3)
    old = _head_row(a)
    assert old is not None
    _append(b, clock, entries=3)
    _append(a, clock, entries=3)
    _sql(a, f"DELETE FROM audit WHERE id > {old[0]}",
         f"UPDATE audit_head SET entry_id = {old[0]}, hash = '{old[1]}', count = {old[2]}, "
         f"mac = '{old[3]}'")
    # The chain alone cannot tell (the metric witness can: test_the_head_is_a_metric...),
    # but a writer that saw a newer head refuses to continue from the older one.
    assert _verify(a).ok
    _append(a, clock)
    assert _stalled(a)


def test_a_forged_head_fails_verification_and_stalls_a_restarted_writer(
        replicas: list[Database], database_url: str, key_file: Path,
        clock: FakeClock) -> None:
    _append(replicas[0], clock, entries=2)
    _sql(replicas[0], "UPDATE audit_head SET count = 1000")
    assert "bad signature" in _verify(replicas[0]).problem
    restarted = _writer(database_url, key_file)
    try:
        _append(restarted, clock)
        assert _stalled(restarted)
    finally:
        restarted.dispose()


def test_without_keyed_entries_a_first_head_is_started(database_url: str, key_file: Path,
                                                       clock: FakeClock) -> None:
    unkeyed = Database(database_url)  # written before the chain had a key
    unkeyed.migrate()
    _append(unkeyed, clock, entries=3)
    unkeyed.dispose()
    keyed = _writer(database_url, key_file)
    try:
        _append(keyed, clock, entries=2)
        assert not _stalled(keyed)
        report = _verify(keyed)
        assert report.ok, report.problem
        assert report.head is not None and report.head.count == 5
    finally:
        keyed.dispose()


# -- upgrading a database the previous release filled ----------------------------------

@pytest.fixture(scope="module")
def previous_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return previous_release.extract(tmp_path_factory.mktemp("previous-release"))


def _filled_by_previous_release(code: Path, url: str, tmp_path: Path) -> tuple[Path, Path]:
    """(key file, head file) after the 0008 release decided three alerts on `url`."""
    state = tmp_path / "state"
    key_file = state / "audit.key"
    previous_release.fill(code, url=url, key_file=key_file, state_dir=state,
                          alerts=[crashloop(pod=f"web-{i}") for i in range(3)])
    head_file = audit_files(url, state_dir=state, audit_key_file=key_file)[1]
    assert head_file.is_file()
    return key_file, head_file


def _upgraded(url: str, key_file: Path, head_file: Path) -> Database:
    database = Database(url, seal=AuditSeal.open(key_file, head_file, create=False))
    database.migrate()
    return database


def test_an_upgrade_adopts_the_previous_release_head_file(
        database_url: str, tmp_path: Path, clock: FakeClock, previous_code: Path) -> None:
    key_file, head_file = _filled_by_previous_release(previous_code, database_url, tmp_path)
    database = _upgraded(database_url, key_file, head_file)
    try:
        assert database.revision() == HEAD_REVISION
        before = _verify(database)  # before any write: checked against the old file
        assert before.ok, before.problem
        _append(database, clock, entries=2)
        assert not _stalled(database)
        after = _verify(database)
        assert after.ok, after.problem
        assert before.head is not None and after.head is not None
        assert after.head.count == before.head.count + 2
        assert not head_file.exists()  # adopted once: a stale copy can never be adopted again
    finally:
        database.dispose()


def test_before_the_first_write_only_an_old_head_file_naming_the_newest_entry_counts(
        database_url: str, tmp_path: Path, clock: FakeClock, previous_code: Path) -> None:
    key_file, head_file = _filled_by_previous_release(previous_code, database_url, tmp_path)
    database = _upgraded(database_url, key_file, head_file)
    try:
        _sql(database, "DELETE FROM audit WHERE id = (SELECT max(id) FROM "
                       "(SELECT id FROM audit) AS newest)")
        assert "the head record names entry 3, but the newest entry is 2" in _verify(
            database).problem
        _append(database, clock)  # the file no longer names the newest entry: not adopted
        assert not _verify(database).ok  # a stale file proves nothing about later entries
        assert _stalled(database)
        assert head_file.exists()
    finally:
        database.dispose()


def test_an_upgrade_without_the_head_file_stalls_until_an_operator_reanchors(
        database_url: str, tmp_path: Path, clock: FakeClock, previous_code: Path) -> None:
    key_file, head_file = _filled_by_previous_release(previous_code, database_url, tmp_path)
    head_file.unlink()  # an emptyDir lost with the pod
    database = _upgraded(database_url, key_file, head_file)
    try:
        _append(database, clock)
        assert _stalled(database)
        assert "no audit head record" in _verify(database).problem
    finally:
        database.dispose()
    key_env = {"REMEDIATOR_AUDIT_KEY_FILE": str(key_file)}
    result = runner.invoke(app, ["audit", "--database-url", database_url, "verify"],
                           env=key_env)
    assert result.exit_code == 1
    assert "no audit head record in the database" in result.output
    result = runner.invoke(app, ["audit", "--database-url", database_url, "reanchor",
                                 "--reason", "upgrade to 0010; head file lost with the pod"],
                           env={"REMEDIATOR_AUDIT_KEY_FILE": str(key_file)})
    assert result.exit_code == 0, result.output
    assert "new audit head started (replaced: none)" in result.output
    database = _upgraded(database_url, key_file, head_file)
    try:
        report = _verify(database)
        assert report.ok, report.problem
        with database.reading() as connection:
            [entry] = audit.query(connection, audit.AuditQuery(outcome="operator"))[0]
        assert entry["action"] == "audit_reanchor"
        assert "head file lost" in entry["reason"]
    finally:
        database.dispose()


# -- SQLite with default settings, as `serve` runs ----------------------------------------

def _service(tmp_path: Path) -> Services:
    url = f"sqlite:///{tmp_path / 'remediator.db'}"
    settings = load_settings(rules=[str(ROOT / "rules")], database_url=url, dev=True)
    return Services.build(settings, actions=ActionRegistry({}))


def _decide(services: Services, *pods: str) -> None:
    for pod in pods:
        services.intake.receive([Alert.model_validate(crashloop(pod=pod))], group_key="g")


def test_sqlite_truncation_is_caught_after_a_restart_with_no_head_file(tmp_path: Path) -> None:
    services = _service(tmp_path)
    _decide(services, "a", "b", "c")
    services.database.dispose()
    with sqlite3.connect(tmp_path / "remediator.db") as connection:
        connection.execute("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)")
    for leftover in tmp_path.glob("*.audit-head"):
        leftover.unlink()
    restarted = _service(tmp_path)
    try:
        _decide(restarted, "d")
        assert _stalled(restarted.database)
    finally:
        restarted.database.dispose()
    result = runner.invoke(app, ["audit", "--database-url",
                                 f"sqlite:///{tmp_path / 'remediator.db'}", "verify"])
    assert result.exit_code == 1
    assert "audit chain broken" in result.output


def test_the_head_is_a_metric_that_drops_when_an_older_head_is_put_back(
        tmp_path: Path) -> None:
    services = _service(tmp_path)
    try:
        _decide(services, "a")
        old = _head_row(services.database)
        _decide(services, "b", "c")
        refresh_audit_head(services)
        head = _head_row(services.database)
        assert old is not None and head is not None
        sample = services.metrics.registry.get_sample_value
        assert (sample("remediator_audit_head_id"), sample("remediator_audit_head_count")) == (
            head[0], head[2])
        assert sample("remediator_audit_head_stalled") == 0
        _sql(services.database, f"DELETE FROM audit WHERE id > {old[0]}",
             f"UPDATE audit_head SET entry_id = {old[0]}, hash = '{old[1]}', "
             f"count = {old[2]}, mac = '{old[3]}'")
        _decide(services, "d")  # this writer saw the newer head: it stalls
        refresh_audit_head(services)
        assert sample("remediator_audit_head_count") == old[2] < head[2]
        assert sample("remediator_audit_head_stalled") == 1
    finally:
        services.database.dispose()
