"""What the engine may ask about the past, and an in-memory implementation.

The database implements `GuardState` inside the deciding transaction; the
in-memory one serves `simulate`, `rules test` and unit tests. Both record the
decisions of the current batch, so the tenth alert of a storm sees the nine
actions before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from remediator.decisions import Decision
from remediator.guards import BreakerSnapshot
from remediator.outcomes import Outcome


class GuardState(Protocol):
    def is_duplicate(self, key: str) -> bool: ...
    def paused(self) -> bool: ...
    def breaker(self) -> BreakerSnapshot: ...
    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None: ...
    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int: ...
    def failures_since(self, since: datetime) -> int: ...
    def firing_alerts(self, alertnames: frozenset[str] | None) -> Iterable[Mapping[str, str]]:
        """Labels of firing alerts, only those named `alertnames` unless None."""
        ...
    def record(self, decision: Decision, now: datetime) -> None: ...


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
    """A GuardState kept in lists: the whole history lives in this object."""

    is_paused: bool = False
    breaker_snapshot: BreakerSnapshot = field(default_factory=BreakerSnapshot)
    firing: list[Mapping[str, str]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    actions: list[_Action] = field(default_factory=list)
    failures: list[datetime] = field(default_factory=list)
    """When actions failed: the breaker counts failures by the time they happened."""

    def is_duplicate(self, key: str) -> bool:
        return key in self.keys

    def paused(self) -> bool:
        return self.is_paused

    def breaker(self) -> BreakerSnapshot:
        return self.breaker_snapshot

    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None:
        times = [a.at for a in self._actions(include_dry_run) if a.target == target]
        return max(times, default=None)

    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int:
        return sum(1 for a in self._actions(include_dry_run)
                   if a.at >= since and (rule is None or a.rule == rule))

    def failures_since(self, since: datetime) -> int:
        return sum(1 for at in self.failures if at >= since)

    def firing_alerts(self, alertnames: frozenset[str] | None) -> Iterable[Mapping[str, str]]:
        return [labels for labels in self.firing
                if alertnames is None or labels.get("alertname") in alertnames]

    def record(self, decision: Decision, now: datetime) -> None:
        if decision.trips_breaker:
            self.breaker_snapshot = BreakerSnapshot(opened_at=now,
                                                    reset_at=self.breaker_snapshot.reset_at)
        if decision.key is not None and decision.creates_remediation:
            self.keys.add(decision.key)
            assert decision.request is not None
            self.actions.append(_Action(now, decision.rule_name, decision.request.target,
                                        decision.outcome is Outcome.DRY_RUN,
                                        key=decision.key, counts=decision.counts))

    def fail(self, key: str, at: datetime) -> None:
        """The action decided under `key` failed at `at` (feeds the breaker)."""
        self.failures.append(at)

    def cancel(self, key: str) -> None:
        """The action under `key` was cancelled before it ran (pause, breaker).

        It gives its key back and counts for no guard, as in the database.
        """
        self.keys.discard(key)
        self.actions = [replace(a, counts=False) if a.key == key else a for a in self.actions]

    def reset_breaker(self, at: datetime) -> None:
        self.breaker_snapshot = replace(self.breaker_snapshot, reset_at=at)

    def _actions(self, include_dry_run: bool) -> list[_Action]:
        return [a for a in self.actions if a.counts and (include_dry_run or not a.dry_run)]
