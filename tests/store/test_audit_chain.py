"""The audit chain's tamper-evidence: keyed hashes, the head checkpoint, retention's anchor.

Each attack is one from the review: deleting the newest entries, deleting the
oldest, rewriting an entry and re-hashing the rest. (The head record, shared
by replicas and restarts, has its own tests: test_audit_head.py.) Run on SQLite and
PostgreSQL through `audit.verify_chain`, and through `remediator audit verify`
with default settings (key and checkpoint generated beside the SQLite file).
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from remediator.actions.registry import ActionRegistry
from remediator.app.services import Services
from remediator.app.settings import load_settings
from remediator.cli import app
from remediator.model.clock import FakeClock
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditRecord
from remediator.store.audit.seal import AuditSeal, canonical
from remediator.store.tables import audit as audit_table

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def sealed(database_url: str, tmp_path: Path) -> Iterator[Database]:
    seal = AuditSeal.open(tmp_path / "audit.key", tmp_path / "audit.head")
    database = Database(database_url, seal=seal)
    database.migrate()
    yield database
    database.dispose()


def _write(database: Database, clock: FakeClock, transactions: int = 5, per: int = 2) -> None:
    for t in range(transactions):
        with database.writing() as connection:
            audit.append(connection, [AuditRecord(ts=clock(), outcome="no_match",
                                                  alertname=f"A{t}-{i}") for i in range(per)])
        clock.advance(timedelta(minutes=1))


def _sql(database: Database, statement: str) -> None:
    with database.writer.begin() as connection:  # behind the service's back
        connection.execute(text(statement))


def _verify(database: Database) -> audit.ChainReport:
    with database.reading() as connection:
        return audit.verify_chain(connection, seal=database.seal)


def _rehash_from(database: Database, first_id: int, hasher: str) -> None:
    """An attacker with database access rewrites entry `first_id` and re-hashes the rest
    (with plain SHA-256, or an HMAC with a key they guessed)."""
    with database.writer.begin() as connection:
        rows = [dict(r._mapping) for r in connection.execute(
            select(audit_table).order_by(audit_table.c.id))]
        prev = None
        for row in rows:
            if row["id"] < first_id:
                prev = row["hash"]
                continue
            if row["id"] == first_id:
                row["reason"] = "nothing happened here"
            row["prev_hash"] = prev or row["prev_hash"]
            body = row["prev_hash"].encode() + canonical(row)
            digest = (hmac.new(b"guessed-key", b"entry\0" + body, hashlib.sha256).hexdigest()
                      if hasher == "hmac" else hashlib.sha256(body).hexdigest())
            connection.execute(update(audit_table).where(audit_table.c.id == row["id"]).values(
                reason=row["reason"], prev_hash=row["prev_hash"], hash=digest))
            prev = digest


def test_an_untouched_chain_verifies_with_its_checkpoint(sealed: Database,
                                                         clock: FakeClock) -> None:
    _write(sealed, clock)
    report = _verify(sealed)
    assert report.ok, report.problem
    assert report.checked == 10
    assert report.head is not None and report.head.count == 10


def test_deleting_the_newest_entries_is_detected(sealed: Database, clock: FakeClock) -> None:
    _write(sealed, clock)
    _sql(sealed, "DELETE FROM audit WHERE id > 8")
    report = _verify(sealed)
    assert not report.ok
    assert "the newest entries were deleted" in report.problem


def test_deleting_the_oldest_entries_is_detected(sealed: Database, clock: FakeClock) -> None:
    _write(sealed, clock)
    _sql(sealed, "DELETE FROM audit WHERE id <= 3")
    report = _verify(sealed)
    assert report.first_bad_id == 4
    assert "the oldest entries were deleted" in report.problem


@pytest.mark.parametrize("hasher", ["sha256", "hmac"])
def test_rewriting_an_entry_and_rehashing_the_rest_is_detected(
        sealed: Database, clock: FakeClock, hasher: str) -> None:
    _write(sealed, clock)
    _rehash_from(sealed, 4, hasher)
    report = _verify(sealed)
    assert report.first_bad_id == 4
    assert "HMAC" in report.problem or "without the key" in report.problem


def test_retention_keeps_an_anchor_and_the_chain_verifies(sealed: Database,
                                                          clock: FakeClock) -> None:
    _write(sealed, clock)
    with sealed.writing() as connection:
        assert audit.purge_before(connection, clock() - timedelta(minutes=3)) == 4
    _write(sealed, clock, transactions=1)
    report = _verify(sealed)
    assert report.ok, report.problem
    assert report.checked == 8
    assert report.head is not None and report.head.count == 12
    # The anchor makes a later deletion of the (new) oldest entries visible too.
    _sql(sealed, "DELETE FROM audit WHERE id = 5")
    assert "the oldest entries were deleted" in _verify(sealed).problem


def test_retention_never_empties_the_chain(sealed: Database, clock: FakeClock) -> None:
    _write(sealed, clock, transactions=2)
    with sealed.writing() as connection:
        assert audit.purge_before(connection, clock() + timedelta(days=1)) == 3
    _write(sealed, clock, transactions=1)
    assert _verify(sealed).ok


def test_a_forged_anchor_is_detected(sealed: Database, clock: FakeClock) -> None:
    _write(sealed, clock)
    _sql(sealed, "DELETE FROM audit WHERE id <= 3")
    with sealed.writer.begin() as connection:
        row = connection.execute(text("SELECT hash FROM audit WHERE id = 3")).first()
        assert row is None
        connection.execute(text(
            "INSERT INTO audit_anchors (through_id, hash, purged, cutoff, mac) "
            "SELECT 3, prev_hash, 3, ts, 'forged' FROM audit WHERE id = 4"))
    assert "forged" in _verify(sealed).problem


def test_ts_never_goes_back_in_id_order(sealed: Database, clock: FakeClock) -> None:
    later = clock()
    with sealed.writing() as connection:
        audit.append(connection, [AuditRecord(ts=later, outcome="no_match")])
    with sealed.writing() as connection:  # a timestamp taken before another writer's lock
        audit.append(connection, [AuditRecord(ts=later - timedelta(seconds=5),
                                              outcome="no_match")])
    with sealed.reading() as connection:
        stamps = [row.ts for row in connection.execute(text("SELECT ts FROM audit ORDER BY id"))]
    assert stamps[1] >= stamps[0]
    assert _verify(sealed).ok


def test_a_writer_does_not_launder_a_truncation(sealed: Database, clock: FakeClock,
                                                tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    _write(sealed, clock)
    _sql(sealed, "DELETE FROM audit WHERE id > 8")
    # A restarted writer finds a head the entries no longer match...
    restarted = Database(sealed.url, seal=AuditSeal.open(tmp_path / "audit.key",
                                                         tmp_path / "audit.head"))
    try:
        _write(restarted, clock, transactions=1)
        assert restarted.seal is not None and restarted.seal.stalled
        assert "the head names entry 10" in caplog.text
        # ...and leaves it as it was, so verification keeps failing.
        assert not _verify(restarted).ok
    finally:
        restarted.dispose()


# -- `remediator audit verify` with default settings -------------------------------------

def _serve_and_decide(tmp_path: Path) -> str:
    from remediator.model.alerts import Alert
    from tests.support.payloads import crashloop

    url = f"sqlite:///{tmp_path / 'remediator.db'}"
    settings = load_settings(rules=[str(ROOT / "rules")], database_url=url, dev=True)
    services = Services.build(settings, actions=ActionRegistry({}))
    try:
        for pod in ("a", "b", "c"):
            services.intake.receive([Alert.model_validate(crashloop(pod=pod))], group_key="g")
    finally:
        services.database.dispose()
    assert (tmp_path / "remediator.db.audit-key").is_file()
    assert not (tmp_path / "remediator.db.audit-head").exists()  # the head is in the database
    return url


def _cli_verify(url: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "--database-url", url, "verify"])
    return result.exit_code, result.output


def test_cli_verify_with_default_settings_detects_each_attack(tmp_path: Path) -> None:
    url = _serve_and_decide(tmp_path)
    code, output = _cli_verify(url)
    assert code == 0, output
    assert "keyed hash chain intact" in output
    database_file = url.removeprefix("sqlite:///")
    with sqlite3.connect(database_file) as connection:
        connection.execute("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)")
    code, output = _cli_verify(url)
    assert code == 1
    assert "the newest entries were deleted" in output


def test_the_key_is_never_in_the_database(tmp_path: Path) -> None:
    url = _serve_and_decide(tmp_path)
    key = (tmp_path / "remediator.db.audit-key").read_text().strip()
    assert (tmp_path / "remediator.db.audit-key").stat().st_mode & 0o077 == 0
    assert key.encode() not in (tmp_path / "remediator.db").read_bytes()
    assert _cli_verify(url)[0] == 0
