"""The store side of what operators do: switches, rules reloads, the audit head,
console sessions, the controls they read, and the notifier's cursor.

Each method is one transaction. An operator's change and its `operator`
audit entry (built by `remediator.operate.operator_log`) are written in the
same one, so the log can never show a pause nobody did or miss one somebody
did. The entry is optional only for the internal callers (tests, tools) that
flip a switch without an operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, func, select

from remediator.decide.guards import BreakerVerdict
from remediator.model.abc import GuardState
from remediator.model.outcomes import Outcome
from remediator.store import controls, jobs
from remediator.store import sessions as session_rows
from remediator.store.audit import head
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditRecord, as_dict
from remediator.store.audit.seal import Head
from remediator.store.database import Database
from remediator.store.guard_state import DatabaseState
from remediator.store.sessions import SessionRecord
from remediator.store.tables import audit as audit_table
from remediator.store.tables import remediations

_AWAITING = select(func.count()).select_from(remediations).where(
    remediations.c.state == Outcome.AWAITING_APPROVAL.value)


@dataclass(frozen=True, kw_only=True)
class ControlsView:
    """What an on-call person asks first, read in one transaction."""

    paused: bool
    paused_reason: str
    """The reason of the pause in force ("" when not paused)."""
    breaker: BreakerVerdict
    jobs_queued: dict[str, int]
    awaiting_approval: int = 0
    """Remediation steps waiting for an operator's approve or decline."""


class OperatorStore:
    """Operator actions with their audit entries, and the reads around them."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def keyed(self) -> bool:
        """Whether the audit chain is keyed (only a keyed chain has a head to re-anchor)."""
        return self.database.seal is not None

    # -- switches -----------------------------------------------------------

    def pause(self, *, reason: str, now: datetime, entry: AuditRecord | None = None) -> None:
        """Stop remediation on every replica; `reason` is quoted in `paused` decisions."""
        with self.database.writing() as connection:
            controls.set_control(connection, controls.PAUSED, flag=True, at=now, reason=reason)
            _append(connection, entry)

    def resume(self, *, reason: str, now: datetime, entry: AuditRecord | None = None) -> None:
        with self.database.writing() as connection:
            controls.set_control(connection, controls.PAUSED, flag=False, at=now, reason=reason)
            _append(connection, entry)

    def reset_breaker(self, *, reason: str, now: datetime,
                      entry: AuditRecord | None = None) -> None:
        """Close the breaker now; actions before `now` no longer count towards it."""
        with self.database.writing() as connection:
            controls.set_control(connection, controls.BREAKER, flag=False, at=now,
                                 reason=reason)
            controls.set_control(connection, controls.BREAKER_RESET, flag=True, at=now,
                                 reason=reason)
            _append(connection, entry)

    def record_operator_action(self, *, entry: AuditRecord) -> None:
        """An operator action that changes nothing stored (a rules reload)."""
        with self.database.writing() as connection:
            _append(connection, entry)

    def reanchor_audit(self, *, entry: Callable[[Head | None], AuditRecord]) -> Head | None:
        """Start a new audit head from what the table holds (`head.reanchor`), with the
        entry `entry` builds from the head it replaced; that head."""
        seal = self.database.seal
        if seal is None:
            raise ValueError("no audit key: an unkeyed chain has no head to re-anchor")
        with self.database.writing() as connection:
            replaced = head.reanchor(connection, seal)
            _append(connection, entry(replaced))
        return replaced

    def controls(self, *, breaker: Callable[[GuardState], BreakerVerdict]) -> ControlsView:
        """Pause, the breaker (as `breaker` judges the stored state), queue depth and
        the approvals waiting for an answer."""
        with self.database.reading() as connection:
            verdict = breaker(DatabaseState(connection))
            paused = controls.read(connection).get(controls.PAUSED)
            queued = jobs.depth(connection)
            waiting = int(connection.execute(_AWAITING).scalar_one())
        on = bool(paused and paused[0])
        return ControlsView(paused=on, paused_reason=paused[2] if paused and on else "",
                            breaker=verdict, jobs_queued=queued, awaiting_approval=waiting)

    # -- console sessions ----------------------------------------------------

    def sign_in(self, *, session: SessionRecord, forget_before: datetime,
                entry: AuditRecord) -> None:
        """Store a new session (forgetting long-ended ones) with its sign-in entry."""
        with self.database.writing() as connection:
            session_rows.open_session(connection, session, forget_before=forget_before)
            _append(connection, entry)

    def sign_out(self, *, session: str, now: datetime, by: str, entry: AuditRecord) -> bool:
        """Revoke the session `session` (its id hash) and write `entry`, if it was still
        unrevoked (True); else nothing."""
        with self.database.writing() as connection:
            changed = session_rows.revoke(connection, session, now=now, by=by)
            if changed:
                _append(connection, entry)
        return changed

    def revoke_session(self, *, session: str, now: datetime, by: str,
                       entry: Callable[[SessionRecord], AuditRecord],
                       ) -> tuple[SessionRecord, bool] | None:
        """Revoke the session with this id or unique prefix, with the entry `entry` builds
        for it; (its record now, whether this revoked it), None when no session has it.

        `AmbiguousSession` when the prefix names several. A session revoked
        already is answered, not revoked again nor audited twice.
        """
        with self.database.writing() as connection:
            full = session_rows.resolve(connection, session)
            found = session_rows.find(connection, full) if full is not None else None
            if found is None:
                return None
            changed = session_rows.revoke(connection, found.id, now=now, by=by)
            if changed:
                _append(connection, entry(found))
            return session_rows.find(connection, found.id) or found, changed

    def sessions(self, *, now: datetime, idle_since: datetime, include_ended: bool = False,
                 limit: int = 200) -> list[SessionRecord]:
        """Sessions newest first; by default only live ones (see `store.sessions.listing`)."""
        with self.database.reading() as connection:
            return session_rows.listing(connection, now=now, idle_since=idle_since,
                                        include_ended=include_ended, limit=limit)

    # -- the notifier's cursor -----------------------------------------------

    def claim_audit_entries(self, *, cursor: str, now: datetime,
                            batch: int = 200) -> list[dict[str, Any]]:
        """Audit entries past the cursor named `cursor` (a control every replica shares),
        oldest first; the cursor moves past them in the same transaction.

        On first use the cursor starts at the newest entry: history is not replayed.
        """
        with self.database.writing() as connection:
            stored = controls.read(connection).get(cursor)
            if stored is None or not stored[2].isdigit():
                newest = connection.execute(select(audit_table.c.id).order_by(
                    desc(audit_table.c.id)).limit(1)).scalar() or 0
                _move(connection, cursor, int(newest), now)
                return []
            rows = connection.execute(select(audit_table).where(
                audit_table.c.id > int(stored[2])).order_by(audit_table.c.id).limit(batch)
            ).all()
            if rows:
                _move(connection, cursor, int(rows[-1].id), now)
        return [as_dict(row) for row in rows]


def _append(connection: Connection, entry: AuditRecord | None) -> None:
    if entry is not None:
        audit.append(connection, [entry])


def _move(connection: Connection, cursor: str, position: int, now: datetime) -> None:
    controls.set_control(connection, cursor, flag=False, at=now, reason=str(position))
