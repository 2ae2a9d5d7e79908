"""Operator actions as audit entries: who paused automation, when, why, from where.

Every switch an operator flips (pause, resume, breaker reset, rules reload,
approve, decline) is written with outcome `operator` in the same transaction
as the change itself (`store.operating.OperatorStore`), so the log can never
show a pause nobody did or miss one somebody did. The actor is the token name
(`webhook-token`), the proxy user, or `cli:<user>`; never a secret. This
module says what the entry holds; the store writes it with the change.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from remediator.model.outcomes import Outcome
from remediator.store.audit.log import AuditRecord
from remediator.store.audit.seal import Head
from remediator.store.operating import OperatorStore

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


def entry(*, action: str, actor: Actor, reason: str, now: datetime,
          detail: Mapping[str, Any] | None = None, remediation_id: str | None = None,
          **fields: Any) -> AuditRecord:
    """One `operator` entry, for the store to write with the change it records."""
    return AuditRecord(ts=now, outcome=Outcome.OPERATOR.value, action=action,
                       reason=clean_reason(reason), remediation_id=remediation_id,
                       detail={**actor.detail(), **(detail or {})}, **fields)


def announce(written: AuditRecord) -> None:
    """Log an operator entry the store has written (operators' actions stand out)."""
    detail = written.detail
    log.warning("operator %s: %s by %s (%s) from %s", written.action, written.reason or "-",
                detail.get("actor", ""), detail.get("via", ""), detail.get("client") or "-")


def pause(store: OperatorStore, *, actor: Actor, reason: str, now: datetime) -> None:
    reason = clean_reason(reason) or "no reason given"
    said = entry(action="pause", actor=actor, reason=reason, now=now)
    store.pause(reason=f"{reason}{_BY}{actor.name})", now=now, entry=said)
    announce(said)


_BY = " (by "
"""How the pause in force names who paused: `<reason> (by <actor>)`, as stored by
`pause` (and quoted so in every `paused` decision)."""


def pause_note(stored: str) -> str:
    """`paused by <who>: <reason>` from the reason stored with the pause in force.

    A pause stored without an actor (a tool's `operations.set_paused`) is
    quoted as it is; none at all says that an operator paused.
    """
    reason, by, who = stored.rpartition(_BY)
    if by and who.endswith(")") and len(who) > 1:
        return f"paused by {who[:-1]}: {reason}"
    return f"paused: {stored}" if stored else "paused by an operator"


def resume(store: OperatorStore, *, actor: Actor, reason: str, now: datetime) -> None:
    said = entry(action="resume", actor=actor, reason=reason, now=now)
    store.resume(reason=f"resumed by {actor.name}", now=now, entry=said)
    announce(said)


def reset_breaker(store: OperatorStore, *, actor: Actor, reason: str, now: datetime) -> None:
    said = entry(action="breaker_reset", actor=actor, reason=reason, now=now)
    store.reset_breaker(reason=f"reset by {actor.name}", now=now, entry=said)
    announce(said)


def reloaded(store: OperatorStore, *, actor: Actor, before: str, after: str, now: datetime,
             errors: list[str] | None = None) -> None:
    """A rules reload, with the digest in force before and after (equal when refused)."""
    reason = (f"rules reloaded: {before} -> {after}" if not errors
              else f"rules reload refused ({len(errors)} error(s)); {before} stays")
    said = entry(action="reload", actor=actor, reason=reason, now=now,
                 detail={"digest_before": before, "digest_after": after,
                         "errors": (errors or [])[:20]})
    store.record_operator_action(entry=said)
    announce(said)


def reanchor_audit(store: OperatorStore, *, actor: Actor, reason: str, now: datetime) -> str:
    """Start a new audit head from what the table holds, after an operator investigated
    why the old one no longer matched (`store.head.reanchor`); says what it replaced."""
    if not store.keyed:
        raise ValueError("no audit key: an unkeyed chain has no head to re-anchor")
    reason = clean_reason(reason)

    def said(replaced: Head | None) -> AuditRecord:
        return entry(action="audit_reanchor", actor=actor, reason=reason, now=now,
                     detail={"replaced_head": _was(replaced)})

    replaced = store.reanchor_audit(entry=said)
    announce(said(replaced))
    return _was(replaced)


def _was(replaced: Head | None) -> str:
    return (f"entry {replaced.id}, {replaced.count} entries" if replaced is not None
            else "none")
