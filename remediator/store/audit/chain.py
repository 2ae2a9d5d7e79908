"""How one audit entry is hashed: a canonical JSON form, chained to the previous hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

from remediator.store.audit.seal import AuditSeal

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
