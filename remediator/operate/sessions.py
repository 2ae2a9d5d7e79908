"""Console sessions as operators see them: sign-in, sign-out, list, revoke; all audited.

Signing in and out, and every revocation, is an `operator` entry written in
the same transaction as the session row it changes (`OperatorStore`), with
the actor, the client address and the session's public id (the hash of the
cookie's id, never the id itself): the log can show who was signed in and who
ended whose session, and never a usable cookie.
"""

from __future__ import annotations

from datetime import datetime

from remediator.operate import operator_log
from remediator.operate.operator_log import Actor
from remediator.store.audit.log import AuditRecord
from remediator.store.operating import OperatorStore
from remediator.store.sessions import AmbiguousSession, SessionRecord

__all__ = ["AmbiguousSession", "UnknownSession", "listing", "revoke", "signed_in",
           "signed_out"]


class UnknownSession(LookupError):
    """No session has this id (or prefix)."""


def signed_in(store: OperatorStore, record: SessionRecord, *, forget_before: datetime) -> None:
    """Store a new session and audit the sign-in."""
    actor = Actor(name=record.actor, via="session", client=record.client)
    said = operator_log.entry(
        action="login", actor=actor, now=record.created_at,
        reason=f"signed in ({'may act' if record.can_act else 'read-only'})",
        detail={"session": record.id[:12]})
    store.sign_in(session=record, forget_before=forget_before, entry=said)
    operator_log.announce(said)


def signed_out(store: OperatorStore, id_hash: str, *, actor: Actor, now: datetime) -> None:
    """The session's own sign-out: revoked and audited."""
    said = operator_log.entry(action="logout", actor=actor, now=now, reason="signed out",
                              detail={"session": id_hash[:12]})
    if store.sign_out(session=id_hash, now=now, by=actor.name, entry=said):
        operator_log.announce(said)


def revoke(store: OperatorStore, session: str, *, actor: Actor, reason: str,
           now: datetime) -> tuple[SessionRecord, bool]:
    """Revoke the session with this id or unique prefix; (its record, whether it was live).

    UnknownSession or AmbiguousSession when `session` names none or several.
    A session revoked already is answered, not revoked again nor audited twice.
    """
    def said(found: SessionRecord) -> AuditRecord:
        return operator_log.entry(
            action="session_revoke", actor=actor, now=now,
            reason=reason or f"revoked the session of {found.actor}",
            detail={"session": found.id[:12], "session_actor": found.actor,
                    "session_client": found.client})

    answer = store.revoke_session(session=session, now=now, by=actor.name, entry=said)
    if answer is None:
        raise UnknownSession(f"no session {session[:64]!r}")
    record, changed = answer
    if changed:
        operator_log.announce(said(record))
    return record, changed


def listing(store: OperatorStore, *, now: datetime, idle_since: datetime,
            include_ended: bool = False, limit: int = 200) -> list[SessionRecord]:
    return store.sessions(now=now, idle_since=idle_since, include_ended=include_ended,
                          limit=limit)
