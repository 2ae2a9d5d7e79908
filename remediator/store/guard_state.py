"""`GuardState` answered from the database inside the deciding transaction.

Answers are cached for the transaction and the batch's own decisions are
overlaid, so a 50-alert delivery costs a few indexed queries, and the counts
are exact because writers are serialised (see `Database.writing`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cached_property

from sqlalchemy import Connection, bindparam, func, select

from remediator.decide.state import MemoryState
from remediator.model.abc import RecordedDecision
from remediator.model.breaker import BreakerSnapshot
from remediator.store import controls
from remediator.store.tables import alerts, remediations

_COUNTS = remediations.c.counts.is_(True)
"""Cancelled actions and dry-runs forced by a missing capability count for nothing."""
_REAL = remediations.c.dry_run.is_(False)

# Built once, as in `store.jobs`: every delivery asks these, and every claim
# asks `_FAILURES_SINCE` (the breaker over queued actions).
_FAILURES_SINCE = select(func.count()).select_from(remediations).where(
    remediations.c.failed_at >= bindparam("since"))
_KEYS_IN = select(remediations.c.key).where(
    remediations.c.key.in_(bindparam("keys", expanding=True)))
_LATEST_BY_TARGET = (
    select(remediations.c.target, remediations.c.dry_run, func.max(remediations.c.created_at))
    .where(remediations.c.target.in_(bindparam("targets", expanding=True)), _COUNTS)
    .group_by(remediations.c.target, remediations.c.dry_run))
_KEY_EXISTS = select(remediations.c.id).where(remediations.c.key == bindparam("key")).limit(1)

_LATEST = select(func.max(remediations.c.created_at)).where(
    remediations.c.target == bindparam("target"), _COUNTS)
_LATEST_FOR_TARGET = {True: _LATEST, False: _LATEST.where(_REAL)}  # by include dry-runs
_SINCE = select(func.count()).select_from(remediations).where(
    remediations.c.created_at >= bindparam("since"), _COUNTS)
_SINCE_FOR_RULE = _SINCE.where(remediations.c.rule == bindparam("rule"))
_ACTIONS_SINCE = {  # by (for one rule, include dry-runs)
    (False, True): _SINCE, (False, False): _SINCE.where(_REAL),
    (True, True): _SINCE_FOR_RULE, (True, False): _SINCE_FOR_RULE.where(_REAL)}
_FIRING_LABELS = select(alerts.c.labels).where(alerts.c.status == "firing")
_FIRING_LABELS_NAMED = _FIRING_LABELS.where(
    alerts.c.alertname.in_(bindparam("names", expanding=True)))


class DatabaseState:
    """A `GuardState` over the deciding transaction's connection, with the batch overlaid."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._batch = MemoryState()
        self._counts: dict[tuple[datetime, str | None, bool], int] = {}
        self._failures: dict[datetime, int] = {}
        self._known_keys: set[str] = set()
        self._existing_keys: set[str] = set()
        self._known_targets: set[str] = set()
        self._latest: dict[tuple[str, bool], datetime] = {}
        self._firing: dict[frozenset[str] | None, list[Mapping[str, str]]] = {}

    @cached_property
    def _controls(self) -> dict[str, tuple[bool, datetime | None, str]]:
        return controls.read(self._connection)

    def prefetch(self, keys: Iterable[str], targets: Iterable[str]) -> None:
        """Answer a delivery's duplicate and cooldown questions in two queries.

        Without this, each alert costs two round trips; with it, a 50-alert
        delivery costs a handful of indexed queries in total.
        """
        wanted_keys = [key for key in set(keys) if key not in self._known_keys]
        for chunk in _chunks(wanted_keys):
            found = self._connection.execute(_KEYS_IN, {"keys": chunk}).scalars()
            self._existing_keys.update(found)
            self._known_keys.update(chunk)
        wanted_targets = [t for t in set(targets) if t not in self._known_targets]
        for chunk in _chunks(wanted_targets):
            rows = self._connection.execute(_LATEST_BY_TARGET, {"targets": chunk}).all()
            for target, dry_run, latest in rows:
                self._latest[(target, bool(dry_run))] = latest
            self._known_targets.update(chunk)

    def is_duplicate(self, key: str) -> bool:
        if self._batch.is_duplicate(key) or key in self._existing_keys:
            return True
        if key in self._known_keys:
            return False
        found = self._connection.execute(_KEY_EXISTS, {"key": key}).first()
        return found is not None

    def paused(self) -> bool:
        flag = self._controls.get(controls.PAUSED)
        return bool(flag and flag[0])

    def breaker(self) -> BreakerSnapshot:
        return self._batch.breaker_snapshot if self._batch.breaker_snapshot.opened_at else \
            controls.breaker_snapshot(self._controls)

    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None:
        if target in self._known_targets:
            candidates = [self._latest.get((target, False))]
            if include_dry_run:
                candidates.append(self._latest.get((target, True)))
            stored = max((t for t in candidates if t is not None), default=None)
        else:
            stored = self._connection.execute(_LATEST_FOR_TARGET[include_dry_run],
                                              {"target": target}).scalar()
        recent = self._batch.last_action_at(target, include_dry_run=include_dry_run)
        return max((t for t in (stored, recent) if t is not None), default=None)

    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int:
        cache_key = (since, rule, include_dry_run)
        if cache_key not in self._counts:
            stmt = _ACTIONS_SINCE[(rule is not None, include_dry_run)]
            params = {"since": since} if rule is None else {"since": since, "rule": rule}
            self._counts[cache_key] = int(self._connection.execute(stmt, params).scalar_one())
        return self._counts[cache_key] + self._batch.actions_since(
            since, rule=rule, include_dry_run=include_dry_run)

    def failures_since(self, since: datetime) -> int:
        if since not in self._failures:
            # By when the failure happened: updated_at moves when the alert resolves.
            self._failures[since] = int(self._connection.execute(
                _FAILURES_SINCE, {"since": since}).scalar_one())
        return self._failures[since] + self._batch.failures_since(since)

    def firing_alerts(self, alertnames: frozenset[str] | None) -> Iterable[Mapping[str, str]]:
        if alertnames not in self._firing:
            stmt, params = ((_FIRING_LABELS, {}) if alertnames is None else
                            (_FIRING_LABELS_NAMED, {"names": sorted(alertnames)}))
            self._firing[alertnames] = list(self._connection.execute(stmt, params).scalars())
        return self._firing[alertnames]

    def record(self, decision: RecordedDecision, now: datetime) -> None:
        self._batch.record(decision, now)


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
