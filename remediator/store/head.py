"""The writer's side of the head checkpoint: which head and count to record at commit.

Cheap on the hot path: the process remembers the head it last wrote, so an
append usually costs no extra query; only when another writer (a replica)
appended in between does it count the entries after the remembered head, by
primary key. The first append after start reads the checkpoint file once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from remediator.store.database import after_commit, transaction_scratch
from remediator.store.seal import AuditSeal, Head, SealError
from remediator.store.tables import audit, audit_anchors

_PENDING = "audit_head"
_NEWEST_ID = select(func.max(audit.c.id))  # built once: every append runs it


def track_head(connection: Connection, seal: AuditSeal, newest: Any, appended: int,
               last_hash: str) -> None:
    """Record (after commit) the head these `appended` rows make, after `newest`."""
    scratch = transaction_scratch(connection)
    pending: Head | None = scratch.get(_PENDING)
    if pending is not None:  # an earlier append of this transaction
        base: int | None = pending.count
    else:
        base = _count_through(connection, seal, newest)
    if base is None:
        return
    new_id = connection.execute(_NEWEST_ID).scalar_one()
    scratch[_PENDING] = Head(id=int(new_id), hash=last_hash, count=base + appended)
    if pending is None:
        after_commit(connection, lambda: seal.committed(scratch[_PENDING]))


def _count_through(connection: Connection, seal: AuditSeal, newest: Any) -> int | None:
    """Entries ever appended up to `newest` (None: the database disagrees: stalled)."""
    if seal.stalled:
        return None
    known = seal.last_written()
    if known is None:
        try:
            known = seal.read_head()
        except SealError as error:
            seal.stall(str(error))
            return None
    if known is None:  # the first checkpoint of this chain
        if newest is None:
            return purged_count(connection)
        return purged_count(connection) + int(connection.execute(
            select(func.count()).select_from(audit).where(audit.c.id <= newest.id)).scalar_one())
    if newest is None or known.id > newest.id:
        seal.stall(f"the checkpoint names entry {known.id} but the newest entry is "
                   f"{newest.id if newest is not None else 'none'}")
        return None
    if known.id == newest.id:
        at = newest.hash
    else:
        at = connection.execute(select(audit.c.hash).where(audit.c.id == known.id)).scalar()
    if at != known.hash:
        seal.stall(f"entry {known.id} no longer has the hash the checkpoint recorded")
        return None
    if known.id == newest.id:
        return known.count
    later = connection.execute(select(func.count()).select_from(audit).where(
        audit.c.id > known.id, audit.c.id <= newest.id)).scalar_one()
    return known.count + int(later)


def purged_count(connection: Connection) -> int:
    value = connection.execute(select(audit_anchors.c.purged)
                               .order_by(audit_anchors.c.id.desc()).limit(1)).scalar()
    return int(value or 0)
