"""One log line per audit entry that acts or fails, once it is committed.

The audit log is the record; these lines are for whoever tails the service's
output: what it did, to what, and the remediation id to look it up with.
Entries that change nothing (duplicate, cooldown, no_match...) stay at debug,
so a storm of repeats does not drown the lines that matter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from remediator.store.database import after_commit

log = logging.getLogger("remediator.audit")

_WARNING = frozenset({"failed", "unverified", "exhausted", "precondition_failed",
                      "breaker_open", "expired"})
_INFO = frozenset({"executed", "dry_run", "succeeded", "target_gone", "verified", "unknown",
                   "awaiting_approval", "approved", "declined", "operator"})


def level_of(outcome: str) -> int:
    if outcome in _WARNING:
        return logging.WARNING
    return logging.INFO if outcome in _INFO else logging.DEBUG


def announce(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log these entries after the transaction that writes them commits."""
    wanted = [row for row in rows if log.isEnabledFor(level_of(row["outcome"]))]
    if wanted:
        after_commit(connection, lambda: _emit(wanted))


def _emit(rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        context = {name: str(row[name]) for name in ("remediation_id", "fingerprint", "rule")
                   if row.get(name)}
        what = " ".join(part for part in (row["action"], row["target"]) if part)
        log.log(level_of(row["outcome"]), "%s%s%s: %s", row["outcome"],
                f" {row['rule']}" if row["rule"] else "", f" {what}" if what else "",
                row["reason"] or "-", extra={"context": context})
