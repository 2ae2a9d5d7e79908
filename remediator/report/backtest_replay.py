"""Replay firing episodes through the real engine on a simulated clock: pure.

Every episode becomes the notifications Alertmanager would have sent: one
firing at its start, a repeat every `repeat_interval` while it fires (dedup
turns those into `duplicate`), and a resolution at its end. They are decided
in time order by `decide()` against one `MemoryState`, with `now` set to each
notification's time, so cooldowns, rate limits, the breaker, approval gates
and `unless_firing` see exactly the history before them. Nothing executes:
actions are assumed to succeed, and escalation ladders (which wait for a
failed verification) are not replayed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import ValidationError

from remediator.decide.decision import Decision
from remediator.decide.engine import decide
from remediator.decide.state import MemoryState
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.report.backtest_episodes import Episode
from remediator.rules.model import RuleSet

ACTING = frozenset({Outcome.EXECUTED, Outcome.DRY_RUN})
HOLDING = (Outcome.DUPLICATE, Outcome.COOLDOWN, Outcome.RATE_LIMITED, Outcome.BREAKER_OPEN,
           Outcome.DENIED, Outcome.PAUSED)


@dataclass(frozen=True, kw_only=True)
class Replayed:
    """One decision of the replay, as the timeline shows it."""

    at: datetime
    alertname: str
    rule: str
    outcome: Outcome
    target: str
    reason: str


@dataclass
class RuleTally:
    """What one rule would have done over the range."""

    matched: int = 0
    """Firing notifications the rule matched (repeats included)."""
    episodes: int = 0
    would_act: int = 0
    awaiting_approval: int = 0
    held_back: Counter[str] = field(default_factory=Counter)


@dataclass
class Backtest:
    start: datetime
    end: datetime
    episodes: int = 0
    unmatched: int = 0
    """Episodes no rule matched."""
    rejected: list[str] = field(default_factory=list)
    """Episodes whose labels an alert could not carry, with the reason."""
    rules: dict[str, RuleTally] = field(default_factory=lambda: defaultdict(RuleTally))
    decisions: list[Replayed] = field(default_factory=list)
    episodes_per_target: Counter[str] = field(default_factory=Counter)

    def acting_per_hour(self) -> dict[str, Counter[datetime]]:
        """rule -> hour -> decisions that would act (executed, dry-run, awaiting approval)."""
        hours: dict[str, Counter[datetime]] = defaultdict(Counter)
        for d in self.decisions:
            if d.outcome in ACTING or d.outcome is Outcome.AWAITING_APPROVAL:
                hours[d.rule][_hour(d.at)] += 1
        return dict(hours)

    def busiest_hour(self) -> tuple[datetime | None, list[Replayed]]:
        """The hour with the most rule decisions, and those decisions in order."""
        per_hour = Counter(_hour(d.at) for d in self.decisions)
        if not per_hour:
            return None, []
        hour = min(per_hour, key=lambda h: (-per_hour[h], h))
        return hour, [d for d in self.decisions if _hour(d.at) == hour]


@dataclass(frozen=True, order=True)
class _Event:
    at: datetime
    order: int
    """Resolutions first at equal times, then by episode start order."""
    index: int
    firing: bool


def replay(episodes: list[Episode], rules: RuleSet, policy: Policy, *, start: datetime,
           end: datetime, repeat_interval: timedelta = timedelta(hours=4)) -> Backtest:
    """Decide every notification of `episodes` in time order; tally by rule."""
    result = Backtest(start=start, end=end, episodes=len(episodes))
    alerts = _alerts(episodes, result)
    state = MemoryState()
    firing_labels: dict[int, dict[str, str]] = {}
    for event in sorted(_events(episodes, alerts, repeat_interval)):
        alert = alerts[event.index]
        assert alert is not None
        if not event.firing:
            firing_labels.pop(event.index, None)
            state.firing = list(firing_labels.values())
            continue
        first = event.index not in firing_labels
        if first:
            firing_labels[event.index] = dict(alert.labels)
            state.firing = list(firing_labels.values())
        _tally(result, decide(alert, rules=rules, policy=policy, state=state, now=event.at),
               event.at, first=first)
    return result


def _alerts(episodes: list[Episode], result: Backtest) -> list[Alert | None]:
    alerts: list[Alert | None] = []
    for episode in episodes:
        try:
            alerts.append(Alert(status="firing", labels=dict(episode.labels),
                                starts_at=episode.start))
        except ValidationError as error:
            first = error.errors()[0]
            result.rejected.append(f"{episode.alertname or '(no alertname)'} at "
                                   f"{episode.start.isoformat()}: "
                                   f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
            alerts.append(None)
    return alerts


def _events(episodes: list[Episode], alerts: list[Alert | None],
            repeat: timedelta) -> Iterable[_Event]:
    for index, (episode, alert) in enumerate(zip(episodes, alerts, strict=True)):
        if alert is None:
            continue
        at = episode.start
        while at <= episode.end:
            yield _Event(at, 1, index, True)
            at += repeat
        if not episode.open:
            yield _Event(episode.end, 0, index, False)


def _tally(result: Backtest, decisions: list[Decision], at: datetime, *, first: bool) -> None:
    for decision in decisions:
        if decision.rule is None:
            result.unmatched += first
            continue
        tally = result.rules[decision.rule.name]
        tally.matched += 1
        tally.episodes += first
        outcome = decision.outcome
        if outcome in ACTING:
            tally.would_act += 1
        elif outcome is Outcome.AWAITING_APPROVAL:
            tally.awaiting_approval += 1
        else:
            tally.held_back[outcome.value] += 1
        target = decision.request.target if decision.request else ""
        if first and target:
            result.episodes_per_target[target] += 1
        result.decisions.append(Replayed(at=at, alertname=decision.alert.alertname,
                                         rule=decision.rule.name, outcome=outcome,
                                         target=target, reason=decision.reason))


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)
