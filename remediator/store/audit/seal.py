"""What makes the audit chain tamper-evident: a key outside the database, a signed head inside.

- **The key.** Every entry's hash is an HMAC (SHA-256) over the previous hash
  and the entry, with a key kept in a file, never in the database. Someone who
  can write the database but cannot read the key cannot rewrite an entry and
  re-hash the rest.
- **The head** (table `audit_head`, MAC'd): the newest entry's id and hash and
  the number of entries ever appended, rewritten in the same transaction as
  every append (`store.head`). In the database, so every replica moves the one
  head and it outlives any pod; deleting the newest entries leaves it naming an
  entry the table lost. Replaying an older signed head with a truncated table
  is what the external witness catches: the head id and count as metrics, and
  an alert when they go back (alerts/remediator.yml).
- **The anchor** (in the database, MAC'd): retention records the last entry it
  purged, so the oldest remaining entry must link to it; deleting the oldest
  entries breaks that link.

The writer never "launders" tampering: when the head does not match the
entries it finds, or is missing while keyed entries exist, it logs an error
and stops moving the head, so `audit verify` keeps failing until an operator
looks (`remediator audit reanchor` starts a new head, audited).

Before the head moved into the database (revision 0010) it was a file
(`<db>.audit-head`); `read_file_head` reads it once so an upgrade adopts it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import weakref
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

_MIN_KEY_BYTES = 16


class SealError(Exception):
    """The key or a head record cannot be used (unreadable, too short, forged)."""


@dataclass(frozen=True)
class Head:
    """The newest entry a writer committed, and how many entries the chain has had."""

    id: int
    hash: str
    count: int


class AuditSeal:
    """The audit key of one database, and what this process last knew of its head."""

    def __init__(self, key: bytes, head_file: Path) -> None:
        if len(key) < _MIN_KEY_BYTES:
            raise SealError(f"audit key must be at least {_MIN_KEY_BYTES} bytes")
        self._key = key
        self._entry = hmac.new(key, b"entry\0", hashlib.sha256)  # copied per entry: no re-keying
        self.head_file = head_file
        """Where the head was kept before revision 0010 (read once, to adopt it)."""
        self._lock = threading.Lock()
        self._written: Head | None = None
        self.stalled = False
        """True once the database disagreed with the head: it stays as evidence."""

    @classmethod
    def open(cls, key_file: Path, head_file: Path, *, create: bool = True) -> AuditSeal:
        """Read the key file, creating it (0600, 32 random bytes) when allowed and absent."""
        if create and not key_file.exists():
            _create_key(key_file)
        try:
            key = key_file.read_bytes().strip()
        except OSError as error:
            raise SealError(f"cannot read audit key {key_file}: {error.strerror}") from None
        return cls(key, head_file)

    # -- MACs ------------------------------------------------------------------------
    def entry_mac(self, prev_hash: str, canonical: bytes) -> str:
        mac = self._entry.copy()
        mac.update(prev_hash.encode())
        mac.update(canonical)
        return mac.hexdigest()

    def mac(self, kind: str, fields: dict[str, object]) -> str:
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hmac.new(self._key, kind.encode() + b"\0" + text.encode(),
                        hashlib.sha256).hexdigest()

    def head_mac(self, head: Head) -> str:
        return self.mac("head", asdict(head))

    def signed(self, head: Head, mac: str) -> bool:
        return hmac.compare_digest(mac, self.head_mac(head))

    # -- the pre-0010 head file ----------------------------------------------------------
    def read_file_head(self) -> Head | None:
        """The head file an older release wrote; None when there is none. SealError when
        forged or corrupt."""
        try:
            data = json.loads(self.head_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise SealError(f"audit head checkpoint {self.head_file} is unreadable: "
                            f"{error}") from None
        try:
            head = Head(id=int(data["id"]), hash=str(data["hash"]), count=int(data["count"]))
            mac = str(data["mac"])
        except (KeyError, TypeError, ValueError):
            raise SealError(f"audit head checkpoint {self.head_file} is malformed") from None
        if not self.signed(head, mac):
            raise SealError(f"audit head checkpoint {self.head_file} has a bad signature")
        return head

    def forget_file_head(self) -> None:
        """After the database adopted it: a stale file must never be adopted again."""
        try:
            self.head_file.unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("cannot remove the old audit head file %s: %s", self.head_file,
                        error.strerror)

    # -- what this process wrote ---------------------------------------------------------
    def committed(self, head: Head) -> None:
        """After commit: the head the database now holds (never back, never when stalled)."""
        with self._lock:
            if self.stalled or (self._written is not None
                                and head.count <= self._written.count):
                return
            self._written = head

    def last_written(self) -> Head | None:
        with self._lock:
            return self._written

    def restart(self) -> None:
        """An operator started a new head (`head.reanchor`): forget the old one."""
        with self._lock:
            self._written = None
            self.stalled = False

    def stall(self, problem: str) -> None:
        with self._lock:
            if not self.stalled:
                log.error("audit chain: %s; the head is kept as it is (run `remediator "
                          "audit verify`)", problem)
            self.stalled = True

    def close(self) -> None:
        """Nothing held open any more; kept for the callers that release a seal."""


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first: use theirs
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.info("generated the audit chain key %s (keep it; back it up apart from the "
             "database)", path)


_SEALS: weakref.WeakKeyDictionary[Engine, AuditSeal] = weakref.WeakKeyDictionary()


def attach(engine: Engine, seal: AuditSeal) -> None:
    _SEALS[engine] = seal


def seal_for(connection: Connection) -> AuditSeal | None:
    return _SEALS.get(connection.engine)


# How one audit entry is hashed: a canonical JSON form, chained to the previous hash.

GENESIS = "0" * 64
"""The `prev_hash` of the very first entry."""

HASHED = ("ts", "outcome", "remediation_id", "rule", "step", "alertname", "fingerprint",
          "namespace", "action", "target", "reason", "duration_ms", "runbook_url",
          "group_key", "labels", "detail")


def canonical(row: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers: sorted, compact JSON, non-ASCII as UTF-8.

    The form is fixed by the standard library's encoder (every stored hash was
    computed with it). A decision's entry holds only strings, integers, None
    and a str -> str map, for which orjson writes the very same bytes several
    times faster (a property test holds them equal); anything else (floats,
    nested details, what only `default=str` can write) takes the standard path.
    """
    content = {name: row[name] for name in HASHED}
    content["ts"] = row["ts"].isoformat(timespec="microseconds")
    if _plain(content):
        try:
            return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # lone surrogates, big integers, non-string keys
            pass
    return standard_canonical(content)


def standard_canonical(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str).encode()


_PLAIN = frozenset({str, int, bool, type(None), dict})
_TEXT = frozenset({str})


def _plain(content: Mapping[str, Any]) -> bool:
    """Values both encoders write identically: no float (they differ in exponents),
    nothing only `default=str` can write, maps of strings only. (Non-string keys
    need no check: orjson refuses them.) Checked by type sets, in C, because it
    runs for every entry."""
    return set(map(type, content.values())) <= _PLAIN and all(
        set(map(type, value.values())) <= _TEXT
        for value in content.values() if type(value) is dict)


def plain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256 without a key: entries written before the chain had one."""
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


def entry_hash(prev_hash: str, row: Mapping[str, Any], seal: AuditSeal | None = None) -> str:
    """HMAC over the previous hash and the entry with the seal's key; SHA-256 without one."""
    if seal is not None:
        return seal.entry_mac(prev_hash, canonical(row))
    return plain_hash(prev_hash, row)
