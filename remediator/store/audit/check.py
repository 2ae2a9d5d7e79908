"""Verifying the whole audit chain, and retention that keeps it verifiable.

`verify` walks the entries oldest first, in batches, and checks four things:
the oldest entry links to the retention anchor (or to genesis), every entry
links to the one before, every hash matches (an HMAC when the key is known),
and the signed head record's entry (table `audit_head`) is there with its
hash and count. Without a head record, keyed entries are a failure: the head
was deleted, and with it the proof that the newest entries are all there.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from remediator.store.audit.head import read_head
from remediator.store.audit.seal import GENESIS, AuditSeal, Head, SealError, entry_hash, plain_hash
from remediator.store.tables import audit, audit_anchors


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None
    problem: str = ""
    head: Head | None = None
    """The head record that was checked (None: no key, or no entries yet)."""
    after_head: int = 0
    """Entries newer than the head (written while a writer was stalled, or without the key)."""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None and not self.problem


@dataclass(frozen=True)
class Anchor:
    through_id: int
    hash: str
    purged: int
    mac: str

    def fields(self) -> dict[str, object]:
        return {"through_id": self.through_id, "hash": self.hash, "purged": self.purged}


def newest_anchor(connection: Connection) -> Anchor | None:
    row = connection.execute(select(audit_anchors).order_by(audit_anchors.c.id.desc())
                             .limit(1)).first()
    if row is None:
        return None
    return Anchor(int(row.through_id), row.hash, int(row.purged), row.mac)


class _Walk:
    """State of one pass over the entries, oldest first."""

    def __init__(self, seal: AuditSeal | None, anchor: Anchor | None, head: Head | None) -> None:
        self.seal = seal
        self.head = head
        self.prev = anchor.hash if anchor is not None else GENESIS
        self.floor = anchor.through_id if anchor is not None else 0
        self.first = True
        self.keyed = False
        self.checked = 0
        self.purged = anchor.purged if anchor is not None else 0
        self.upto_head = 0
        self.head_hash: str | None = None
        self.last_id = 0

    def step(self, data: dict[str, Any]) -> str:
        """The problem with this entry, or ""."""
        if data["id"] <= self.floor:
            return "entry is older than the retention anchor (inserted after a purge)"
        if data["prev_hash"] != self.prev:
            if self.first:
                return ("the oldest entry does not link to the "
                        + ("retention anchor" if self.floor else "start of the chain")
                        + " (the oldest entries were deleted)")
            return "link to the previous entry is broken (an entry was deleted or reordered)"
        problem = self._hash_problem(data)
        if problem:
            return problem
        self.first = False
        self.prev, self.last_id = data["hash"], data["id"]
        self.checked += 1
        if self.head is not None and data["id"] <= self.head.id:
            self.upto_head += 1
            if data["id"] == self.head.id:
                self.head_hash = data["hash"]
        return ""

    def _hash_problem(self, data: dict[str, Any]) -> str:
        if self.seal is None:
            ok = plain_hash(data["prev_hash"], data) == data["hash"]
            return "" if ok else "content does not match its hash (the entry was modified)"
        if hmac.compare_digest(entry_hash(data["prev_hash"], data, self.seal), data["hash"]):
            self.keyed = True
            return ""
        if not self.keyed and plain_hash(data["prev_hash"], data) == data["hash"]:
            return ""  # written before the chain had a key
        if self.keyed and plain_hash(data["prev_hash"], data) == data["hash"]:
            return "entry is hashed without the key after keyed entries (rewritten)"
        return "content does not match its HMAC (the entry was modified or re-hashed)"


def verify(connection: Connection, *, seal: AuditSeal | None, batch: int = 5000) -> ChainReport:
    anchor = newest_anchor(connection)
    if anchor is not None and seal is not None and not hmac.compare_digest(
            anchor.mac, seal.mac("anchor", anchor.fields())):
        return ChainReport(0, None, "the retention anchor's signature is wrong (forged)")
    try:
        head = read_head(connection, seal) if seal is not None else None
        old_file = seal.read_file_head() if seal is not None and head is None else None
    except SealError as error:
        return ChainReport(0, None, str(error))
    head = head or old_file
    walk = _Walk(seal, anchor, head)
    last_id = 0
    while True:
        rows = connection.execute(select(audit).where(audit.c.id > last_id)
                                  .order_by(audit.c.id).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            data = dict(row._mapping)
            problem = walk.step(data)
            if problem:
                return ChainReport(walk.checked, data["id"], problem, head)
        last_id = rows[-1].id
    if old_file is not None and walk.last_id > old_file.id:
        # Only between the upgrade to revision 0010 and the first write, which adopts
        # the file when it names the newest entry: a stale file says nothing about the
        # entries after it (one naming an entry past the end still shows a truncation).
        return _check_head(walk, None, seal)
    return _check_head(walk, head, seal)


def _check_head(walk: _Walk, head: Head | None, seal: AuditSeal | None) -> ChainReport:
    if seal is None:
        return ChainReport(walk.checked, None)
    if head is None:
        if walk.keyed:
            return ChainReport(walk.checked, None, "no audit head record in the database: "
                               "cannot tell whether the newest entries were deleted (after "
                               "investigating, `remediator audit reanchor` starts a new head)")
        return ChainReport(walk.checked, None)
    if walk.last_id < head.id:
        return ChainReport(walk.checked, None, f"the head record names entry {head.id}, "
                           f"but the newest entry is {walk.last_id or 'none'}: the newest "
                           "entries were deleted", head)
    if walk.head_hash != head.hash:
        return ChainReport(walk.checked, head.id, "entry differs from the head record "
                           "(replaced)", head)
    if walk.purged + walk.upto_head != head.count:
        return ChainReport(walk.checked, None, f"the head record counts {head.count} "
                           f"entries up to {head.id}, the chain has "
                           f"{walk.purged + walk.upto_head} (entries were deleted)", head)
    return ChainReport(walk.checked, None, "", head, after_head=walk.checked - walk.upto_head)


def purge_prefix(connection: Connection, cutoff: datetime, *, seal: AuditSeal | None) -> int:
    """Delete the entries before the first one at/after `cutoff`, keeping the newest."""
    newest = connection.execute(select(func.max(audit.c.id))).scalar()
    if newest is None:
        return 0
    first_kept = connection.execute(select(func.min(audit.c.id))
                                    .where(audit.c.ts >= cutoff)).scalar()
    first_kept = newest if first_kept is None else first_kept
    last = connection.execute(select(audit.c.id, audit.c.hash).where(audit.c.id < first_kept)
                              .order_by(audit.c.id.desc()).limit(1)).first()
    if last is None:
        return 0
    removed = int(connection.execute(delete(audit).where(audit.c.id <= last.id)).rowcount or 0)
    previous = newest_anchor(connection)
    anchor = Anchor(int(last.id), last.hash, (previous.purged if previous else 0) + removed,
                    "")
    mac = seal.mac("anchor", anchor.fields()) if seal is not None else ""
    connection.execute(insert(audit_anchors).values(
        through_id=anchor.through_id, hash=anchor.hash, purged=anchor.purged, cutoff=cutoff,
        mac=mac))
    return removed
