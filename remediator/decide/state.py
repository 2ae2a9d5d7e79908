"""A `GuardState` kept in memory (the interface is in `remediator.model.abc`).

The database implements it inside the deciding transaction; this one serves
`simulate`, `rules test` and unit tests, and holds the database's overlay of
the current batch. Both record the decisions of the batch, so the tenth alert
of a storm sees the nine actions before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from remediator.model.abc import RecordedDecision
from remediator.model.breaker import BreakerSnapshot
from remediator.model.outcomes import Outcome


@dataclass(frozen=True)
class _Action:
    at: datetime
    rule: str
    target: str
    dry_run: bool
    key: str = ""
    counts: bool = True


@dataclass
class MemoryState:
    """A GuardState kept in lists: the whole history lives in this object.

    `record` and `cancel` change it. The rate-limit and cooldown questions are
    answered from tallies kept beside the list (`_Tally`), not by walking it:
    a delivery asks about four of them per alert, and the database's state
    overlays a whole grouped transaction of decisions here (hundreds in a
    storm), so walking the list made a delivery quadratic in its size.
    """

    is_paused: bool = False
    breaker_snapshot: BreakerSnapshot = field(default_factory=BreakerSnapshot)
    firing: list[Mapping[str, str]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    actions: list[_Action] = field(default_factory=list)
    failures: list[datetime] = field(default_factory=list)
    """When actions failed: the breaker counts failures by the time they happened."""
    _tally: _Tally = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._tally = _Tally.of(self.actions)

    def is_duplicate(self, key: str) -> bool:
        return key in self.keys

    def paused(self) -> bool:
        return self.is_paused

    def breaker(self) -> BreakerSnapshot:
        return self.breaker_snapshot

    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None:
        return self._tally.last_action_at(target, include_dry_run=include_dry_run)

    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int:
        return self._tally.actions_since(since, rule=rule, include_dry_run=include_dry_run)

    def failures_since(self, since: datetime) -> int:
        return sum(1 for at in self.failures if at >= since)

    def firing_alerts(self, alertnames: frozenset[str] | None) -> Iterable[Mapping[str, str]]:
        return [labels for labels in self.firing
                if alertnames is None or labels.get("alertname") in alertnames]

    def record(self, decision: RecordedDecision, now: datetime) -> None:
        if decision.trips_breaker:
            self.breaker_snapshot = BreakerSnapshot(opened_at=now,
                                                    reset_at=self.breaker_snapshot.reset_at)
        if decision.key is not None and decision.creates_remediation:
            self.keys.add(decision.key)
            assert decision.request is not None
            action = _Action(now, decision.rule_name, decision.request.target,
                             decision.outcome is Outcome.DRY_RUN,
                             key=decision.key, counts=decision.counts)
            self.actions.append(action)
            self._tally.add(action)

    def fail(self, key: str, at: datetime) -> None:
        """The action decided under `key` failed at `at` (feeds the breaker)."""
        self.failures.append(at)

    def cancel(self, key: str) -> None:
        """The action under `key` was cancelled before it ran (pause, breaker).

        It gives its key back and counts for no guard, as in the database.
        """
        self.keys.discard(key)
        self.actions = [replace(a, counts=False) if a.key == key else a for a in self.actions]
        self._tally = _Tally.of(self.actions)

    def reset_breaker(self, at: datetime) -> None:
        self.breaker_snapshot = replace(self.breaker_snapshot, reset_at=at)


@dataclass
class _Tally:
    """The counted actions, summed by (time, rule, dry-run) and latest per target.

    A batch's actions share one time (its transaction's `now`), so a count
    sums a handful of entries however many actions the batch holds.
    """

    per_time: Counter[tuple[datetime, str, bool]] = field(default_factory=Counter)
    latest: dict[tuple[str, bool], datetime] = field(default_factory=dict)

    @classmethod
    def of(cls, actions: Iterable[_Action]) -> _Tally:
        tally = cls()
        for action in actions:
            tally.add(action)
        return tally

    def add(self, action: _Action) -> None:
        if not action.counts:
            return
        self.per_time[(action.at, action.rule, action.dry_run)] += 1
        latest = self.latest.get((action.target, action.dry_run))
        if latest is None or action.at > latest:
            self.latest[(action.target, action.dry_run)] = action.at

    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int:
        return sum(n for (at, name, dry_run), n in self.per_time.items()
                   if at >= since and (rule is None or name == rule)
                   and (include_dry_run or not dry_run))

    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None:
        times = [self.latest.get((target, False))]
        if include_dry_run:
            times.append(self.latest.get((target, True)))
        return max((at for at in times if at is not None), default=None)
