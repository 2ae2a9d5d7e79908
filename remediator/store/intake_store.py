"""The intake's side of the store facade: the webhook's one transaction, and reconciliation.

`record_deliveries` is the hot path (webhook -> decisions -> one durable
write): the alerts as last seen, every decision's audit row, remediation
and jobs commit together or not at all, with the guards' questions answered
in the same transaction (`DatabaseState`). The intake says how to decide;
this module owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from remediator.decide.decision import Decision
from remediator.model.alerts import Alert
from remediator.model.clock import Clock
from remediator.model.outcomes import Outcome
from remediator.store import recorder
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditRecord
from remediator.store.database import Database
from remediator.store.guard_state import DatabaseState
from remediator.store.tables import alerts as alerts_table

Decide = Callable[[Sequence[Alert], DatabaseState, datetime], list[Decision]]
"""One delivery's decisions, against the state of the recording transaction, at `now`."""


@dataclass(frozen=True)
class Recorded:
    """One delivery as committed: its decisions and their summaries (with remediation ids)."""

    decisions: list[Decision]
    summaries: list[dict[str, Any]]


class IntakeStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def record_deliveries(self, deliveries: Sequence[tuple[Sequence[Alert], str]], *,
                          seen: Sequence[Alert], lookups: tuple[Iterable[str], Iterable[str]],
                          clock: Clock, decide: Decide) -> list[Recorded]:
        """Decide and record several deliveries (alerts, group key) in one transaction.

        `seen` are remembered as last seen first (`unless_firing` reads them);
        `lookups` (idempotency keys, targets) are prefetched so the guards cost
        two queries for the whole batch. Each delivery is decided and then
        recorded before the next, exactly as if they had come one by one.
        """
        recorded = []
        with self.database.writing() as connection:
            now = clock()  # inside the writer lock: audit `ts` grows with `id`
            recorder.remember_alerts(connection, seen, now)
            state = DatabaseState(connection)
            state.prefetch(*lookups)
            for alerts, group_key in deliveries:
                decisions = decide(alerts, state, now)
                recorded.append(Recorded(decisions, recorder.record(
                    connection, decisions, now=now, group_key=group_key)))
        return recorded

    def record_rejection(self, *, ts: datetime, reason: str, detail: dict[str, Any]) -> None:
        """A delivery that failed validation or authentication: one `rejected` audit row."""
        with self.database.writing() as connection:
            audit.append(connection, [AuditRecord(ts=ts, outcome=Outcome.REJECTED.value,
                                                  reason=reason, detail=detail)])

    # -- reconciliation ------------------------------------------------------

    def reconcile_candidates(self, candidates: Sequence[Alert], *,
                             known_only: bool = False) -> list[Alert]:
        """The firing alerts that the store has no record of in this episode.

        `known_only`: only alerts whose fingerprint the store holds (from any
        episode), i.e. alerts this service has received by webhook; used when
        Alertmanager's answer is not narrowed to our receiver (see `reconcile`).
        """
        if not candidates:
            return []
        with self.database.reading() as connection:
            rows = connection.execute(
                select(alerts_table.c.fingerprint, alerts_table.c.starts_at,
                       alerts_table.c.status)
                .where(alerts_table.c.fingerprint.in_([a.fingerprint for a in candidates]))
            ).all()
        known = {(row.fingerprint, row.starts_at) for row in rows if row.status == "firing"}
        ours = {row.fingerprint for row in rows}
        return [a for a in candidates if (a.fingerprint, a.starts_at) not in known
                and (not known_only or a.fingerprint in ours)]

    def resolve_missing(self, reported: set[str], *, seen_before: datetime) -> list[Alert]:
        """Stored firing alerts that Alertmanager no longer reports, as resolved alerts.

        `reported` holds every fingerprint Alertmanager still has firing for
        this receiver, silenced and inhibited ones included. Only alerts
        last seen before `seen_before` (when Alertmanager was asked) are
        candidates: one delivered since may not have been in the answer.
        Fed through the normal path, the resolved alerts close their
        remediations, run their follow-ups and stop blocking `unless_firing`.
        """
        with self.database.reading() as connection:
            rows = connection.execute(select(alerts_table).where(
                alerts_table.c.status == "firing",
                alerts_table.c.updated_at < seen_before)).all()
        return [Alert(status="resolved", labels=row.labels, starts_at=row.starts_at,
                      ends_at=seen_before, fingerprint_=row.fingerprint)
                for row in rows if row.fingerprint not in reported]
