"""Operator actions as audit entries: who paused automation, when, why, from where.

Every switch an operator flips (pause, resume, breaker reset, rules reload,
approve, decline) is written with outcome `operator` in the same transaction
as the change itself, so the log can never show a pause nobody did or miss
one somebody did. The actor is the token name (`webhook-token`), the proxy
user, or `cli:<user>`; never a secret.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from remediator.model.outcomes import Outcome
from remediator.store import Database, controls
from remediator.store.audit import head
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditRecord

log = logging.getLogger(__name__)

MAX_REASON = 500


@dataclass(frozen=True, kw_only=True)
class Actor:
    name: str
    via: str
    client: str = ""

    @classmethod
    def cli(cls) -> Actor:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(name=f"cli:{user}", via="cli")

    def detail(self) -> dict[str, str]:
        return {"actor": self.name, "via": self.via, "client": self.client}


def clean_reason(reason: str) -> str:
    """One line, bounded: reasons are shown in tables and quoted in other reasons."""
    return " ".join(reason.split())[:MAX_REASON]


def record(connection: Connection, *, action: str, actor: Actor, reason: str, now: datetime,
           detail: Mapping[str, Any] | None = None, remediation_id: str | None = None,
           **fields: Any) -> None:
    """Append one `operator` entry (inside the caller's writing transaction)."""
    audit.append(connection, [AuditRecord(
        ts=now, outcome=Outcome.OPERATOR.value, action=action, reason=clean_reason(reason),
        remediation_id=remediation_id, detail={**actor.detail(), **(detail or {})}, **fields)])
    log.warning("operator %s: %s by %s (%s) from %s", action, clean_reason(reason) or "-",
                actor.name, actor.via, actor.client or "-")


def pause(database: Database, *, actor: Actor, reason: str, now: datetime) -> None:
    reason = clean_reason(reason) or "no reason given"
    with database.writing() as connection:
        controls.set_control(connection, controls.PAUSED, flag=True, at=now,
                             reason=f"{reason} (by {actor.name})")
        record(connection, action="pause", actor=actor, reason=reason, now=now)


def resume(database: Database, *, actor: Actor, reason: str, now: datetime) -> None:
    with database.writing() as connection:
        controls.set_control(connection, controls.PAUSED, flag=False, at=now,
                             reason=f"resumed by {actor.name}")
        record(connection, action="resume", actor=actor, reason=reason, now=now)


def reset_breaker(database: Database, *, actor: Actor, reason: str, now: datetime) -> None:
    with database.writing() as connection:
        controls.set_control(connection, controls.BREAKER, flag=False, at=now,
                             reason=f"reset by {actor.name}")
        controls.set_control(connection, controls.BREAKER_RESET, flag=True, at=now,
                             reason=f"reset by {actor.name}")
        record(connection, action="breaker_reset", actor=actor, reason=reason, now=now)


def reloaded(database: Database, *, actor: Actor, before: str, after: str, now: datetime,
             errors: list[str] | None = None) -> None:
    """A rules reload, with the digest in force before and after (equal when refused)."""
    reason = (f"rules reloaded: {before} -> {after}" if not errors
              else f"rules reload refused ({len(errors)} error(s)); {before} stays")
    with database.writing() as connection:
        record(connection, action="reload", actor=actor, reason=reason, now=now,
               detail={"digest_before": before, "digest_after": after,
                       "errors": (errors or [])[:20]})


def reanchor_audit(database: Database, *, actor: Actor, reason: str, now: datetime) -> str:
    """Start a new audit head from what the table holds, after an operator investigated
    why the old one no longer matched (`store.head.reanchor`); says what it replaced."""
    if database.seal is None:
        raise ValueError("no audit key: an unkeyed chain has no head to re-anchor")
    reason = clean_reason(reason)
    with database.writing() as connection:
        replaced = head.reanchor(connection, database.seal)
        was = (f"entry {replaced.id}, {replaced.count} entries" if replaced is not None
               else "none")
        record(connection, action="audit_reanchor", actor=actor, reason=reason, now=now,
               detail={"replaced_head": was})
    return was


def paused_reason(connection: Connection) -> str | None:
    """The operator's reason for the pause in force, for quoting in `paused` decisions."""
    flag = controls.read(connection).get(controls.PAUSED)
    return flag[2] if flag and flag[0] else None
