"""The writer's side of the audit head: one signed row, moved by every write transaction.

Cheap on the hot path: the process remembers the head it last committed, so
while the newest entry is still that head (no other replica appended), a
transaction costs one `SELECT max(id)` and one single-row UPDATE, run once at
its end (`before_commit`) however many appends it made. The UPDATE names the
head it expects (id and count): if the row was deleted or rewritten behind
the writers' lock, nothing matches and the writer stalls. Otherwise (first
append, another writer appended, a restart) it reads the row, checks its
signature and that its entry is still there with that hash, and counts any
entries after it by primary key.

It never starts a new head over keyed entries by itself: a missing row with
keyed entries present means the head (and maybe the newest entries) was
deleted, so it stalls (`AuditSeal.stall`) and `audit verify` says so, until an
operator runs `remediator audit reanchor` (`reanchor`), which is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, desc, func, insert, select, update

from remediator.store.audit.seal import GENESIS, AuditSeal, Head, SealError, entry_hash
from remediator.store.database import (
    Database,
    after_commit,
    before_commit,
    transaction_scratch,
)
from remediator.store.tables import audit, audit_anchors, audit_head

_PENDING = "audit_head"
# Built once: every write transaction runs the first and the last.
_NEWEST_ID = select(func.max(audit.c.id))
_READ = select(audit_head.c.entry_id, audit_head.c.hash, audit_head.c.count,
               audit_head.c.mac).where(audit_head.c.slot == 1)
_MOVE = (update(audit_head)
         .where(audit_head.c.slot == 1, audit_head.c.entry_id == bindparam("was_id"),
                audit_head.c.count == bindparam("was_count"))
         .values(entry_id=bindparam("new_id"), hash=bindparam("new_hash"),
                 count=bindparam("new_count"), mac=bindparam("new_mac")))
_CREATE = insert(audit_head)


@dataclass
class _Pending:
    """This transaction's head, from the head it found (`stored`; None: no row yet)."""

    stored: Head | None
    count: int
    """Entries ever appended before this transaction's."""
    last_hash: str = GENESIS
    appended: int = 0
    adopted: bool = False
    """`count` came from the pre-0010 head file: remove it once the row is committed."""


def track_head(connection: Connection, seal: AuditSeal, newest: Any, appended: int,
               last_hash: str) -> None:
    """Count `appended` entries (ending with `last_hash`) after `newest` into the head this
    transaction writes when it ends."""
    scratch = transaction_scratch(connection)
    pending: _Pending | None = scratch.get(_PENDING)
    fresh = pending is None
    if pending is None:
        pending = _start(connection, seal, newest)
        if pending is None:
            return
        scratch[_PENDING] = pending
    pending.appended += appended
    pending.last_hash = last_hash
    if fresh:
        before_commit(connection, lambda: _write(connection, seal, pending))


def read_head(connection: Connection, seal: AuditSeal | None) -> Head | None:
    """The head row (None: there is none). With a seal, SealError when its MAC is wrong."""
    row = connection.execute(_READ).first()
    if row is None:
        return None
    head = Head(id=int(row.entry_id), hash=str(row.hash), count=int(row[2]))
    if seal is not None and not seal.signed(head, str(row.mac)):
        raise SealError("the audit head record has a bad signature (forged, or written "
                        "with another key)")
    return head


def stored_head(database: Database) -> Head | None:
    """The head record as the database holds it, unchecked (None: there is none).

    For the witness gauges: what matters there is that the id and count never
    go back, which Prometheus sees outside the database; `audit verify` checks
    the signature.
    """
    with database.reading() as connection:
        return read_head(connection, None)


def reanchor(connection: Connection, seal: AuditSeal) -> Head | None:
    """Start a new head from what the table holds now: an operator's decision, after
    investigating a reported mismatch (a database restored from a backup, an upgrade
    whose old head file is gone). The caller appends the audit entry that says so in
    this transaction. Returns the head it replaced (unchecked), if any."""
    replaced = read_head(connection, None)
    connection.execute(delete(audit_head))
    newest = connection.execute(select(audit.c.id, audit.c.hash)
                                .order_by(desc(audit.c.id)).limit(1)).first()
    seal.restart()
    pending = _Pending(stored=None, count=_entries_through(connection, newest))
    pending.last_hash = newest.hash if newest is not None else GENESIS
    transaction_scratch(connection)[_PENDING] = pending
    before_commit(connection, lambda: _write(connection, seal, pending))
    return replaced


def _write(connection: Connection, seal: AuditSeal, pending: _Pending) -> None:
    """At the end of the transaction: the row names its newest entry and the new count."""
    newest_id = connection.execute(_NEWEST_ID).scalar()
    if newest_id is None:
        return
    head = Head(id=int(newest_id), hash=pending.last_hash,
                count=pending.count + pending.appended)
    mac = seal.head_mac(head)
    if pending.stored is None:
        connection.execute(_CREATE, {"slot": 1, "entry_id": head.id, "hash": head.hash,
                                     "count": head.count, "mac": mac})
    else:
        moved = connection.execute(_MOVE, {
            "was_id": pending.stored.id, "was_count": pending.stored.count,
            "new_id": head.id, "new_hash": head.hash, "new_count": head.count,
            "new_mac": mac}).rowcount
        if moved != 1:
            seal.stall(f"the head record no longer names entry {pending.stored.id} "
                       "(deleted or rewritten behind the writers' lock)")
            return
    after_commit(connection, lambda: _committed(seal, head, adopted=pending.adopted))


def _committed(seal: AuditSeal, head: Head, *, adopted: bool) -> None:
    seal.committed(head)
    if adopted:
        seal.forget_file_head()


def _start(connection: Connection, seal: AuditSeal, newest: Any) -> _Pending | None:
    """The head this transaction continues (None: stalled, the database disagrees)."""
    if seal.stalled:
        return None
    known = seal.last_written()
    if known is not None and newest is not None and (newest.id, newest.hash) == (
            known.id, known.hash):
        return _Pending(stored=known, count=known.count)  # checked by the UPDATE's WHERE
    try:
        stored = read_head(connection, seal)
    except SealError as error:
        seal.stall(str(error))
        return None
    if stored is None:
        return _first(connection, seal, newest)
    if known is not None and stored.count < known.count:
        seal.stall(f"the head went back from {known.count} entries to {stored.count} "
                   "(an older head record was put back)")
        return None
    count = _count_through(connection, seal, stored, newest)
    return None if count is None else _Pending(stored=stored, count=count)


def _count_through(connection: Connection, seal: AuditSeal, stored: Head,
                   newest: Any) -> int | None:
    """Entries ever appended up to `newest`, continuing `stored` (None: stalled)."""
    if newest is None or stored.id > newest.id:
        seal.stall(f"the head names entry {stored.id} but the newest entry is "
                   f"{newest.id if newest is not None else 'none'}")
        return None
    if stored.id == newest.id:
        at = newest.hash
    else:
        at = connection.execute(select(audit.c.hash).where(audit.c.id == stored.id)).scalar()
    if at != stored.hash:
        seal.stall(f"entry {stored.id} no longer has the hash the head recorded")
        return None
    if stored.id == newest.id:
        return stored.count
    later = connection.execute(select(func.count()).select_from(audit).where(
        audit.c.id > stored.id, audit.c.id <= newest.id)).scalar_one()
    return stored.count + int(later)


def _first(connection: Connection, seal: AuditSeal, newest: Any) -> _Pending | None:
    """No head row: a new chain, an upgrade (adopt the old head file if it still matches
    the newest entry exactly), or a head that was deleted (stall)."""
    if newest is None:
        if purged_count(connection):
            seal.stall("no head record and no entries, though retention purged some: "
                       "the entries were deleted")
            return None
        return _Pending(stored=None, count=0)
    try:
        old = seal.read_file_head()
    except SealError:
        old = None
    if old is not None and (old.id, old.hash) == (newest.id, newest.hash):
        return _Pending(stored=None, count=old.count, adopted=True)
    if _keyed(connection, seal, newest.id):
        seal.stall("no head record in the database, but the chain has keyed entries: the "
                   "newest entries may have been deleted (after investigating, "
                   "`remediator audit reanchor`)")
        return None
    return _Pending(stored=None, count=_entries_through(connection, newest))


def _keyed(connection: Connection, seal: AuditSeal, entry_id: int) -> bool:
    row = connection.execute(select(audit).where(audit.c.id == entry_id)).first()
    if row is None:
        return False
    data = dict(row._mapping)
    return bool(entry_hash(data["prev_hash"], data, seal) == data["hash"])


def _entries_through(connection: Connection, newest: Any) -> int:
    if newest is None:
        return purged_count(connection)
    return purged_count(connection) + int(connection.execute(
        select(func.count()).select_from(audit).where(audit.c.id <= newest.id)).scalar_one())


def purged_count(connection: Connection) -> int:
    value = connection.execute(select(audit_anchors.c.purged)
                               .order_by(audit_anchors.c.id.desc()).limit(1)).scalar()
    return int(value or 0)
