"""The store side of approvals: answering a request and expiring it, one transaction each.

What an answer decides is `remediator.operate.approvals`' (pure) business; it
is handed the request as this transaction reads it and the guards as they
stand now (`RecheckState`), and says what to write (`Ruling`). Reading the
request, re-checking the guards and writing the decision commit together:
nobody can pause, trip the breaker or answer the same request in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, func, select

from remediator.decide.decision import Decision
from remediator.model.abc import GuardState, RecordedDecision
from remediator.model.breaker import BreakerSnapshot
from remediator.model.outcomes import Outcome
from remediator.store import controls, jobs, recorder, remediations
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditRecord
from remediator.store.database import Database
from remediator.store.guard_state import DatabaseState
from remediator.store.remediations import Remediation
from remediator.store.tables import remediations as table

T = TypeVar("T")

AWAITING = Outcome.AWAITING_APPROVAL.value
_NOT_ACTIONS = (AWAITING, Outcome.DECLINED.value, Outcome.EXPIRED.value)


@dataclass(frozen=True, kw_only=True)
class Pending:
    """An approval request as its answer's transaction reads it."""

    remediation_id: str
    remediation: Remediation | None
    """None: there is no remediation with this id."""
    expires: datetime | None
    """When the request expires (None: it never asked, or has no timeout)."""
    state: GuardState
    """The guards as they stand now, the request itself left out (`RecheckState`)."""
    paused_reason: str = ""
    """The reason stored with the pause in force ("" when not paused): a refusal quotes it."""


@dataclass(frozen=True, kw_only=True)
class Ruling:
    """What answering (or expiring) a request writes, in this order, in its transaction.

    The default writes nothing: an answer refused before anything happened.
    """

    entry: AuditRecord | None = None
    """The operator's answer, or the refused attempt, as an `operator` entry."""
    give_back_key: bool = False
    """The request's idempotency key is released and it counts for no guard."""
    uncount: bool = False
    """The request counts for no guard, and keeps its key (declined)."""
    queue: Decision | None = None
    """Approved: the action job is queued, with this decision's verification."""
    outcome: Outcome | None = None
    """The request's outcome (None: no outcome is recorded)."""
    reason: str = ""
    state: str | None = None
    detail: dict[str, Any] | None = None


class ApprovalStore:
    """Answers to approval requests and their expiry, each in one `writing()` transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def answer(self, *, remediation_id: str, now: datetime,
               ruling: Callable[[Pending], tuple[Ruling, T]]) -> tuple[Ruling, T]:
        """Approve or decline: read the request, let `ruling` decide against the guards
        of this same transaction, and write what it says; once committed, what it said.

        A refused answer is returned, not raised, by `ruling`, so that what it
        writes (the attempt, a late request's expiry) is committed.
        """
        with self.database.writing() as connection:
            current = remediations.get(connection, remediation_id)
            expires = connection.execute(select(table.c.approval_expires).where(
                table.c.id == remediation_id)).scalar() if current is not None else None
            paused = controls.read(connection).get(controls.PAUSED)
            written, result = ruling(Pending(
                remediation_id=remediation_id, remediation=current, expires=expires,
                state=RecheckState(connection, remediation_id),
                paused_reason=paused[2] if paused and paused[0] else ""))
            if current is not None:
                _write(connection, current, written, now)
        return written, result

    def expire_due(self, *, now: datetime, expiry: Ruling) -> list[Remediation]:
        """Every request still awaiting an answer at its timeout gets `expiry` written;
        the requests expired."""
        with self.database.writing() as connection:
            ids = list(connection.execute(select(table.c.id).where(
                table.c.state == AWAITING, table.c.approval_expires <= now)).scalars())
            expired = [r for r in (remediations.get(connection, i) for i in ids)
                       if r is not None]
            for current in expired:
                _write(connection, current, expiry, now)
        return expired


def _write(connection: Connection, current: Remediation, ruling: Ruling, now: datetime) -> None:
    if ruling.entry is not None:
        audit.append(connection, [ruling.entry])
    if ruling.give_back_key:
        remediations.release_key(connection, current.id)
    if ruling.uncount:
        remediations.uncount(connection, current.id)
    if ruling.queue is not None:
        jobs.enqueue(connection, kind=jobs.ACTION, remediation_id=current.id, run_at=now,
                     payload=recorder.verify_payload(ruling.queue))
    if ruling.outcome is not None:
        recorder.record_outcome(connection, current, outcome=ruling.outcome,
                                reason=ruling.reason, now=now, state=ruling.state,
                                detail=ruling.detail)


class RecheckState:
    """Guard state for re-deciding an approved step: the request itself does not count.

    Nor do other requests still awaiting an answer, or declined and expired
    ones: none of them acted.
    """

    def __init__(self, connection: Connection, remediation_id: str) -> None:
        self._connection = connection
        self._id = remediation_id
        self._inner = DatabaseState(connection)

    def _acted(self, include_dry_run: bool) -> list[object]:
        conditions: list[object] = [table.c.id != self._id, table.c.counts.is_(True),
                                    table.c.state.not_in(_NOT_ACTIONS)]
        if not include_dry_run:
            conditions.append(table.c.dry_run.is_(False))
        return conditions

    def is_duplicate(self, key: str) -> bool:
        return False

    def paused(self) -> bool:
        return self._inner.paused()

    def breaker(self) -> BreakerSnapshot:
        return self._inner.breaker()

    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None:
        stmt = select(func.max(table.c.created_at)).where(
            table.c.target == target, *self._acted(include_dry_run))  # type: ignore[arg-type]
        found: datetime | None = self._connection.execute(stmt).scalar()
        return found

    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int:
        stmt = select(func.count()).select_from(table).where(
            table.c.created_at >= since, *self._acted(include_dry_run))  # type: ignore[arg-type]
        if rule is not None:
            stmt = stmt.where(table.c.rule == rule)
        return int(self._connection.execute(stmt).scalar_one())

    def failures_since(self, since: datetime) -> int:
        return self._inner.failures_since(since)

    def firing_alerts(self, alertnames: frozenset[str] | None) -> Iterable[Mapping[str, str]]:
        return self._inner.firing_alerts(alertnames)

    def record(self, decision: RecordedDecision, now: datetime) -> None:
        return None
