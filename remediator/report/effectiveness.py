"""Did the actions help? Effectiveness per rule and action, computed from the audit log alone.

A pure function over audit entries (oldest first), so the CLI, the page and
the tests share one computation and none of them needs Prometheus. An action
is an `executed` (or `approved`) entry; its result and verification are the
entries with the same remediation and step; it resolved when the first
`resolved` entry of the same alert (fingerprint) follows it. The baseline is
the same alerts when nothing acted: episodes that began with `dry_run`,
`denied` or `no_match`, timed to their next `resolved`. That is an
approximation (an alert that fired while remediator was down left no trace),
good enough to tell "resolves in 2 minutes after a restart" from "resolves in
2 minutes anyway". Recurrence counts an acted episode as back when the same
alert is decided on again within the window after its resolve; episodes whose
window has not yet elapsed are left out of the ratio rather than counted as
"not back".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from remediator.model.outcomes import DECISIONS, Outcome

ACTING = frozenset({Outcome.EXECUTED.value, Outcome.APPROVED.value})
UNACTED = frozenset({Outcome.DRY_RUN.value, Outcome.DENIED.value, Outcome.NO_MATCH.value})
_DECIDED = frozenset(o.value for o in DECISIONS)
WINDOWS = (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)))
TOP_TARGETS = 5


@dataclass(frozen=True, kw_only=True)
class Entry:
    """The audit fields this report reads (nothing else leaves the store)."""

    ts: datetime
    outcome: str
    remediation_id: str | None = None
    rule: str = ""
    step: int = 0
    alertname: str = ""
    fingerprint: str = ""
    action: str = ""
    target: str = ""

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Entry:
        return cls(ts=_utc(row["ts"]), outcome=str(row["outcome"]),
                   remediation_id=row.get("remediation_id"), rule=row.get("rule") or "",
                   step=int(row.get("step") or 0), alertname=row.get("alertname") or "",
                   fingerprint=row.get("fingerprint") or "", action=row.get("action") or "",
                   target=row.get("target") or "")


@dataclass(frozen=True)
class Durations:
    """Seconds from an action (or the first unacted decision) to the alert's resolve."""

    seconds: tuple[float, ...] = ()

    @property
    def median(self) -> float | None:
        return quantile(self.seconds, 0.5)

    @property
    def p90(self) -> float | None:
        return quantile(self.seconds, 0.9)

    def to_json(self) -> dict[str, Any]:
        return {"count": len(self.seconds), "median_s": self.median, "p90_s": self.p90}


@dataclass(kw_only=True)
class RuleAction:
    """The figures of one rule and action."""

    rule: str
    action: str
    alertnames: set[str] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)
    to_resolve: list[float] = field(default_factory=list)
    recurred: dict[str, list[bool]] = field(default_factory=lambda: {n: [] for n, _ in WINDOWS})
    targets: Counter[str] = field(default_factory=Counter)
    baseline: Durations = Durations()

    @property
    def executed(self) -> int:
        return self.outcomes[Outcome.EXECUTED.value] + self.outcomes[Outcome.APPROVED.value]

    @property
    def verified_ratio(self) -> float | None:
        judged = self.outcomes[Outcome.VERIFIED.value] + self.outcomes[Outcome.UNVERIFIED.value]
        return self.outcomes[Outcome.VERIFIED.value] / judged if judged else None

    def recurrence(self, window: str) -> float | None:
        seen = self.recurred[window]
        return sum(seen) / len(seen) if seen else None

    def to_json(self) -> dict[str, Any]:
        counts = {o: self.outcomes[o] for o in (
            "succeeded", "failed", "target_gone", "verified", "unverified", "unknown")}
        return {"rule": self.rule, "action": self.action, "alertnames": sorted(self.alertnames),
                "executed": self.executed, **counts, "verified_ratio": self.verified_ratio,
                "resolved": Durations(tuple(self.to_resolve)).to_json(),
                "baseline": self.baseline.to_json(),
                "recurrence": {n: {"ratio": self.recurrence(n), "episodes": len(self.recurred[n])}
                               for n, _ in WINDOWS},
                "top_targets": [{"target": t, "actions": n}
                                for t, n in self.targets.most_common(TOP_TARGETS)]}


@dataclass(frozen=True, kw_only=True)
class Effectiveness:
    since: datetime
    until: datetime
    rows: tuple[RuleAction, ...]

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "rules": [row.to_json() for row in self.rows]}


def _utc(value: datetime | str) -> datetime:
    """The store's reads give ISO text; SQLite may drop the zone (its times are UTC)."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def quantile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank quantile (a value that occurred), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * 1000) * len(ordered) // 1000))  # ceil(q * n) without floats
    return ordered[min(rank, len(ordered)) - 1]


def effectiveness(entries: Iterable[Entry], *, since: datetime, until: datetime) -> Effectiveness:
    """Every figure per (rule, action) from entries in `[since, until]`, oldest first."""
    ordered = sorted((e for e in entries if since <= e.ts <= until), key=lambda e: e.ts)
    by_alert: dict[str, list[Entry]] = defaultdict(list)
    for entry in ordered:
        by_alert[entry.fingerprint].append(entry)
    rows: dict[tuple[str, str], RuleAction] = {}
    baseline: dict[str, list[float]] = defaultdict(list)
    actions: dict[tuple[str | None, int], RuleAction] = {
        (e.remediation_id, e.step): rows.setdefault(
            (e.rule, e.action), RuleAction(rule=e.rule, action=e.action))
        for e in ordered if e.outcome in ACTING and e.remediation_id}
    for entry in ordered:
        row = actions.get((entry.remediation_id, entry.step))
        if row is not None and entry.outcome not in ACTING | {Outcome.RESOLVED.value}:
            row.outcomes[entry.outcome] += 1
    for history in by_alert.values():
        _episodes(history, rows, baseline, until)
    for row in rows.values():
        row.baseline = Durations(tuple(sorted(
            s for name in row.alertnames for s in baseline.get(name, ()))))
    return Effectiveness(since=since, until=until,
                         rows=tuple(rows[key] for key in sorted(rows)))


def _episodes(history: list[Entry], rows: dict[tuple[str, str], RuleAction],
              baseline: dict[str, list[float]], until: datetime) -> None:
    """Walk one alert's entries: time each action and unacted start to the next resolve."""
    acted: list[Entry] = []
    unacted: Entry | None = None
    for i, entry in enumerate(history):
        if entry.outcome in ACTING:
            row = rows[(entry.rule, entry.action)]
            row.outcomes[entry.outcome] += 1
            row.alertnames.add(entry.alertname)
            row.targets[entry.target] += 1
            acted.append(entry)
        elif entry.outcome in UNACTED and not acted and unacted is None:
            unacted = entry
        elif entry.outcome == Outcome.RESOLVED.value:
            back = next((e.ts for e in history[i + 1:] if e.outcome in _DECIDED), None)
            for action in acted:
                row = rows[(action.rule, action.action)]
                row.to_resolve.append((entry.ts - action.ts).total_seconds())
                for name, span in WINDOWS:
                    if back is not None and back - entry.ts <= span:
                        row.recurred[name].append(True)
                    elif entry.ts + span <= until:
                        row.recurred[name].append(False)
            if unacted is not None and not acted:
                baseline[entry.alertname].append((entry.ts - unacted.ts).total_seconds())
            acted, unacted = [], None
