"""`OperatorStore`: each operator action and its `operator` entry in one transaction,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from remediator.decide.guards import BreakerVerdict
from remediator.model.abc import GuardState
from remediator.model.clock import FakeClock
from remediator.store import Database, controls
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery, AuditRecord
from remediator.store.operating import OperatorStore
from remediator.store.sessions import SessionRecord, SessionStore


def entry(clock: FakeClock, action: str, reason: str = "") -> AuditRecord:
    return AuditRecord(ts=clock(), outcome="operator", action=action, reason=reason,
                       detail={"actor": "alice", "via": "test", "client": ""})


def operator_entries(database: Database) -> list[tuple[str, str]]:
    with database.reading() as connection:
        found, _ = audit.query(connection, AuditQuery(outcome="operator", limit=50))
    return sorted((e["action"], e["reason"]) for e in found)


def closed(state: GuardState) -> BreakerVerdict:
    return BreakerVerdict(open=False, reason="closed")


def test_switches_commit_with_their_entries(database: Database, clock: FakeClock) -> None:
    store = OperatorStore(database)
    store.pause(reason="incident (by alice)", now=clock(), entry=entry(clock, "pause", "inc"))
    view = store.controls(breaker=closed)
    assert (view.paused, view.paused_reason) == (True, "incident (by alice)")
    assert view.breaker.reason == "closed" and view.jobs_queued == {}
    store.resume(reason="resumed by alice", now=clock(), entry=entry(clock, "resume"))
    assert (store.controls(breaker=closed).paused,
            store.controls(breaker=closed).paused_reason) == (False, "")
    store.reset_breaker(reason="reset by alice", now=clock(),
                        entry=entry(clock, "breaker_reset"))
    store.record_operator_action(entry=entry(clock, "reload", "rules reloaded"))
    with database.reading() as connection:
        values = controls.read(connection)
    assert values[controls.BREAKER][0] is False and values[controls.BREAKER_RESET][0] is True
    assert operator_entries(database) == [("breaker_reset", ""), ("pause", "inc"),
                                          ("reload", "rules reloaded"), ("resume", "")]


def test_a_switch_without_an_operator_writes_no_entry(database: Database,
                                                      clock: FakeClock) -> None:
    store = OperatorStore(database)
    store.pause(reason="tool", now=clock())
    store.reset_breaker(reason="tool", now=clock())
    assert store.controls(breaker=closed).paused
    assert operator_entries(database) == []


def test_the_breaker_is_judged_on_the_stored_state(database: Database,
                                                   clock: FakeClock) -> None:
    store = OperatorStore(database)
    store.pause(reason="x", now=clock())
    view = store.controls(breaker=lambda state: BreakerVerdict(open=state.paused(),
                                                               reason="judged"))
    assert view.breaker == BreakerVerdict(open=True, reason="judged")


def session(clock: FakeClock, name: str, prefix: str) -> SessionRecord:
    now = clock()
    return SessionRecord(id=prefix + "0" * (64 - len(prefix)), actor=name, can_act=True,
                         csrf="c", created_at=now, last_seen_at=now,
                         expires_at=now + timedelta(hours=1), client="192.0.2.1")


def test_sessions_sign_in_out_and_revoke_with_their_entries(database: Database,
                                                          clock: FakeClock) -> None:
    store = OperatorStore(database)
    alice, bob = session(clock, "alice", "aa"), session(clock, "bob", "bb")
    for record in (alice, bob):
        store.sign_in(session=record, forget_before=clock() - timedelta(days=7),
                      entry=entry(clock, "login", record.actor))
    live = store.sessions(now=clock(), idle_since=clock() - timedelta(hours=1))
    assert {r.actor for r in live} == {"alice", "bob"}
    assert store.sign_out(session=alice.id, now=clock(), by="alice",
                          entry=entry(clock, "logout"))
    assert not store.sign_out(session=alice.id, now=clock(), by="alice",
                              entry=entry(clock, "logout"))  # not twice
    revoked = store.revoke_session(session="bb", now=clock(), by="alice",
                                   entry=lambda found: entry(clock, "session_revoke",
                                                             found.actor))
    assert revoked is not None and revoked[1] and revoked[0].revoked_by == "alice"
    again = store.revoke_session(session="bb", now=clock(), by="alice",
                                 entry=lambda found: entry(clock, "session_revoke", "again"))
    assert again is not None and not again[1]
    assert store.revoke_session(session="cc", now=clock(), by="alice",
                                entry=lambda found: entry(clock, "x")) is None
    assert store.sessions(now=clock(), idle_since=clock() - timedelta(hours=1)) == []
    assert operator_entries(database) == [("login", "alice"), ("login", "bob"),
                                          ("logout", ""), ("session_revoke", "bob")]


def test_a_revocation_whose_entry_fails_is_not_revoked(database: Database,
                                                       clock: FakeClock) -> None:
    """The session row and its entry commit together: no revocation nobody audited."""
    store = OperatorStore(database)
    record = session(clock, "alice", "aa")
    store.sign_in(session=record, forget_before=clock(), entry=entry(clock, "login"))

    def broken(found: SessionRecord) -> AuditRecord:
        raise RuntimeError("no entry")

    with pytest.raises(RuntimeError):
        store.revoke_session(session="aa", now=clock(), by="bob", entry=broken)
    found = SessionStore(database).find(record.id)
    assert found is not None and found.revoked_at is None


def test_the_audit_cursor_starts_at_the_newest_entry_and_moves(database: Database,
                                                               clock: FakeClock) -> None:
    store = OperatorStore(database)
    store.record_operator_action(entry=entry(clock, "before"))
    assert store.claim_audit_entries(cursor="test_cursor", now=clock()) == []
    for n in range(3):
        store.record_operator_action(entry=entry(clock, f"after-{n}"))
    first = store.claim_audit_entries(cursor="test_cursor", now=clock(), batch=2)
    assert [e["action"] for e in first] == ["after-0", "after-1"]
    rest = store.claim_audit_entries(cursor="test_cursor", now=clock(), batch=2)
    assert [e["action"] for e in rest] == ["after-2"]
    assert store.claim_audit_entries(cursor="test_cursor", now=clock()) == []


def test_an_unkeyed_chain_cannot_be_reanchored(database: Database, clock: FakeClock) -> None:
    store = OperatorStore(database)
    assert not store.keyed
    with pytest.raises(ValueError, match="no audit key"):
        store.reanchor_audit(entry=lambda replaced: entry(clock, "audit_reanchor"))
    assert operator_entries(database) == []
