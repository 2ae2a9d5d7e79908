"""`GuardState` answered from the database inside the deciding transaction.

Answers are cached for the transaction and the batch's own decisions are
overlaid, so a 50-alert delivery costs a few indexed queries, and the counts
are exact because writers are serialised (see `Database.writing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cached_property

from sqlalchemy import Connection, func, select

from remediator.decisions import Decision
from remediator.guards import BreakerSnapshot
from remediator.outcomes import Outcome
from remediator.state import MemoryState
from remediator.store import controls
from remediator.store.tables import alerts, remediations

_FAILED = (Outcome.FAILED.value,)


class DatabaseState:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._batch = MemoryState()
        self._counts: dict[tuple[datetime, str | None, bool], int] = {}

    @cached_property
    def _controls(self) -> dict[str, tuple[bool, datetime | None, str]]:
        return controls.read(self._connection)

    def is_duplicate(self, key: str) -> bool:
        if self._batch.is_duplicate(key):
            return True
        found = self._connection.execute(
            select(remediations.c.id).where(remediations.c.key == key)).first()
        return found is not None

    def paused(self) -> bool:
        flag = self._controls.get(controls.PAUSED)
        return bool(flag and flag[0])

    def breaker(self) -> BreakerSnapshot:
        return self._batch.breaker_snapshot if self._batch.breaker_snapshot.opened_at else \
            controls.breaker_snapshot(self._controls)

    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None:
        stmt = select(func.max(remediations.c.created_at)).where(remediations.c.target == target)
        if not include_dry_run:
            stmt = stmt.where(remediations.c.dry_run.is_(False))
        stored = self._connection.execute(stmt).scalar()
        recent = self._batch.last_action_at(target, include_dry_run=include_dry_run)
        return max((t for t in (stored, recent) if t is not None), default=None)

    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int:
        cache_key = (since, rule, include_dry_run)
        if cache_key not in self._counts:
            stmt = select(func.count()).select_from(remediations).where(
                remediations.c.created_at >= since)
            if rule is not None:
                stmt = stmt.where(remediations.c.rule == rule)
            if not include_dry_run:
                stmt = stmt.where(remediations.c.dry_run.is_(False))
            self._counts[cache_key] = int(self._connection.execute(stmt).scalar_one())
        return self._counts[cache_key] + self._batch.actions_since(
            since, rule=rule, include_dry_run=include_dry_run)

    def failures_since(self, since: datetime) -> int:
        stmt = select(func.count()).select_from(remediations).where(
            remediations.c.state.in_(_FAILED), remediations.c.updated_at >= since)
        return int(self._connection.execute(stmt).scalar_one())

    def firing_alerts(self) -> Iterable[Mapping[str, str]]:
        return self._firing

    @cached_property
    def _firing(self) -> list[Mapping[str, str]]:
        rows = self._connection.execute(
            select(alerts.c.labels).where(alerts.c.status == "firing")).scalars()
        return list(rows)

    def record(self, decision: Decision, now: datetime) -> None:
        self._batch.record(decision, now)
