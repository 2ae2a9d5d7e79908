"""How one audit entry is hashed: a canonical JSON form, chained to the previous hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from remediator.store.seal import AuditSeal

GENESIS = "0" * 64
"""The `prev_hash` of the very first entry."""

HASHED = ("ts", "outcome", "remediation_id", "rule", "step", "alertname", "fingerprint",
          "namespace", "action", "target", "reason", "duration_ms", "runbook_url",
          "group_key", "labels", "detail")


def canonical(row: Mapping[str, Any]) -> bytes:
    content = {name: row[name] for name in HASHED}
    content["ts"] = row["ts"].isoformat(timespec="microseconds")
    return json.dumps(content, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str).encode()


def plain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    """SHA-256 without a key: entries written before the chain had one."""
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


def entry_hash(prev_hash: str, row: Mapping[str, Any], seal: AuditSeal | None = None) -> str:
    """HMAC over the previous hash and the entry with the seal's key; SHA-256 without one."""
    if seal is not None:
        return seal.entry_mac(prev_hash, canonical(row))
    return plain_hash(prev_hash, row)
