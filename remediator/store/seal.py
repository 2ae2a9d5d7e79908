"""What makes the audit chain tamper-evident: a key and a head checkpoint outside the database.

- **The key.** Every entry's hash is an HMAC (SHA-256) over the previous hash
  and the entry, with a key kept in a file, never in the database. Someone who
  can write the database but cannot read the key cannot rewrite an entry and
  re-hash the rest.
- **The head checkpoint.** After each write transaction commits, the newest
  entry's id and hash and the number of entries ever appended are written,
  MAC'd with the same key, to a small file: one fixed-size record overwritten
  in place through a descriptor kept open (a few microseconds, where a
  write-and-rename costs ~1.5 ms on the hot path). Deleting the newest entries
  leaves the checkpoint pointing past the end of the table.
- **The anchor** (in the database, MAC'd): retention records the last entry it
  purged, so the oldest remaining entry must link to it; deleting the oldest
  entries breaks that link.

The writer never "launders" tampering: when the checkpoint does not match the
database it finds, it logs an error and stops moving the checkpoint, so
`audit verify` keeps failing until an operator looks.
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
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

_MIN_KEY_BYTES = 16
_RECORD_BYTES = 256


class SealError(Exception):
    """The key or checkpoint file cannot be used (unreadable, too short)."""


@dataclass(frozen=True)
class Head:
    """The newest entry a writer committed, and how many entries the chain has had."""

    id: int
    hash: str
    count: int


class AuditSeal:
    """The audit key and head checkpoint of one database, shared by its writers."""

    def __init__(self, key: bytes, head_file: Path) -> None:
        if len(key) < _MIN_KEY_BYTES:
            raise SealError(f"audit key must be at least {_MIN_KEY_BYTES} bytes")
        self._key = key
        self._entry = hmac.new(key, b"entry\0", hashlib.sha256)  # copied per entry: no re-keying
        self.head_file = head_file
        self._lock = threading.Lock()
        self._written: Head | None = None
        self._fd: int | None = None
        self.stalled = False
        """True once the database disagreed with the checkpoint: it stays as evidence."""

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

    # -- the head checkpoint ------------------------------------------------------------
    def read_head(self) -> Head | None:
        """The checkpoint on disk; None when there is none. SealError when forged/corrupt."""
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
        if not hmac.compare_digest(mac, self.mac("head", asdict(head))):
            raise SealError(f"audit head checkpoint {self.head_file} has a bad signature")
        return head

    def committed(self, head: Head) -> None:
        """After commit: move the checkpoint forward (never back, never when stalled)."""
        with self._lock:
            if self.stalled or (self._written is not None
                                and head.count <= self._written.count):
                return
            payload = {**asdict(head), "mac": self.mac("head", asdict(head))}
            record = json.dumps(payload).ljust(_RECORD_BYTES - 1).encode() + b"\n"
            if self._fd is None:
                self._fd = os.open(self.head_file, os.O_RDWR | os.O_CREAT, 0o600)
                os.ftruncate(self._fd, _RECORD_BYTES)
            # 256 bytes at offset 0 lie in one disk sector, which a device writes whole;
            # a torn record would read as "unreadable", never as a valid older head.
            os.pwrite(self._fd, record, 0)
            self._written = head

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def last_written(self) -> Head | None:
        with self._lock:
            return self._written

    def stall(self, problem: str) -> None:
        with self._lock:
            if not self.stalled:
                log.error("audit chain: %s; the head checkpoint %s is kept as it is "
                          "(run `remediator audit verify`)", problem, self.head_file)
            self.stalled = True


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
