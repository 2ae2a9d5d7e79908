"""Read firing-alert history from Prometheus in chunks, with prometheus-api-client.

Each chunk is one `query_range` of `timestamp(ALERTS{alertstate="firing"})`
(see `backtest_episodes` for why the timestamp); its samples go straight into
an `EpisodeBuilder` and are dropped, so memory holds one chunk's answer plus
the open episodes. A chunk that fails (timeout, refusal, bad answer) stops the
read with an error naming the chunk: partial history is never returned.

Needs the `remediator[analysis]` extra (prometheus-api-client, requests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from remediator.report.backtest_episodes import Episode, EpisodeBuilder
from remediator.report.prometheus import Connection, PrometheusError, range_answer

QUERY = 'timestamp(ALERTS{alertstate="firing"})'
__all__ = ["Connection", "History", "HistoryError", "read_history"]


class HistoryError(RuntimeError):
    """The history could not be read completely: one line, naming the chunk."""


@dataclass(frozen=True, kw_only=True)
class History:
    episodes: list[Episode]
    chunks: int
    series: int
    """Distinct series answered over all chunks (churn shows as many more than episodes)."""


def read_history(connection: Connection, *, start: datetime, end: datetime, step: timedelta,
                 chunk: timedelta, gap: timedelta) -> History:
    """The firing episodes between `start` and `end`, or HistoryError for the first bad chunk."""
    if end <= start:
        raise HistoryError(f"empty range: {start.isoformat()} is not before {end.isoformat()}")
    if chunk < step:
        raise HistoryError("the chunk must be at least one step long")
    bounds = _chunks(start, end, chunk)
    builder = EpisodeBuilder(gap=max(gap, step * 2))
    seen: set[tuple[tuple[str, str], ...]] = set()
    with connection.client() as client:
        for number, (low, high) in enumerate(bounds, start=1):
            where = (f"chunk {number}/{len(bounds)} ({low.isoformat()} .. {high.isoformat()})")
            try:
                answer = range_answer(client, connection, QUERY, start=low, end=high,
                                      step=step, where=where)
            except PrometheusError as error:
                raise HistoryError(f"{error}; no partial result is reported") from None
            for item in answer:
                labels, times = _parse(item, where)
                seen.add(tuple(sorted(labels.items())))
                builder.add(labels, times)
    return History(episodes=builder.finish(end), chunks=len(bounds), series=len(seen))


def _chunks(start: datetime, end: datetime, chunk: timedelta) -> list[tuple[datetime, datetime]]:
    bounds = []
    low = start
    while low < end:
        high = min(low + chunk, end)
        bounds.append((low, high))
        low = high
    return bounds


def _parse(item: Mapping[str, Any], where: str) -> tuple[dict[str, str], list[float]]:
    try:
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        times = [float(value) for _, value in item.get("values") or []]
    except (TypeError, ValueError, AttributeError) as error:
        raise HistoryError(f"Prometheus answered {where} with a malformed series: "
                           f"{error}") from None
    return labels, times
