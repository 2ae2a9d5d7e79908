"""Firing episodes rebuilt from an alert's samples: pure, fed one chunk at a time.

Prometheus' `ALERTS{alertstate="firing"}` series has one sample per rule
evaluation while the alert fires. Read through `timestamp(...)`, each step of
a range query answers the time of the newest raw sample, so a series that
stopped (a backfilled block has no staleness marker) repeats its last time
instead of pretending to fire for the 5 minute look-back. An episode ends
where two consecutive sample times are more than `gap` apart: the alert
resolved and fired again (a flap), or its series churned away and back.

`EpisodeBuilder` keeps only the open episode of each series between chunks,
so a week of history is never held in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

IGNORED_LABELS = frozenset({"__name__", "alertstate"})


@dataclass(frozen=True, kw_only=True)
class Episode:
    """One time an alert fired: from its first firing sample to its last."""

    labels: Mapping[str, str]
    start: datetime
    end: datetime
    open: bool = False
    """Still firing at the end of the range read (no resolution seen)."""

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


@dataclass
class _Open:
    labels: dict[str, str]
    first: float
    last: float


@dataclass
class EpisodeBuilder:
    """Feed sample times per series in time order (chunk after chunk), then `finish`."""

    gap: timedelta
    _open: dict[tuple[tuple[str, str], ...], _Open] = field(default_factory=dict)
    _done: list[Episode] = field(default_factory=list)

    def add(self, labels: Mapping[str, str], times: Iterable[float]) -> None:
        """Sample times (Unix seconds) of one series; repeats and older times are ignored."""
        kept = {k: v for k, v in labels.items() if k not in IGNORED_LABELS}
        key = tuple(sorted(kept.items()))
        current = self._open.get(key)
        gap = self.gap.total_seconds()
        for at in times:
            if current is None:
                current = self._open[key] = _Open(kept, at, at)
            elif at <= current.last:
                continue
            elif at - current.last > gap:
                self._done.append(_episode(current, is_open=False))
                current = self._open[key] = _Open(kept, at, at)
            else:
                current.last = at

    def finish(self, end: datetime) -> list[Episode]:
        """All episodes by start; those with a sample within `gap` of `end` stay open."""
        limit = end.timestamp() - self.gap.total_seconds()
        episodes = self._done + [_episode(o, is_open=o.last >= limit)
                                 for o in self._open.values()]
        return sorted(episodes, key=lambda e: (e.start, sorted(e.labels.items())))


def _episode(current: _Open, *, is_open: bool) -> Episode:
    return Episode(labels=dict(current.labels), start=_time(current.first),
                   end=_time(current.last), open=is_open)


def _time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
