"""Episodes rebuilt from sample times, whatever the chunking and the look-back repeats."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.report.backtest_episodes import EpisodeBuilder

STEP = 30
GAP = timedelta(minutes=2)
LABELS = {"alertname": "PodCrashLooping", "alertstate": "firing", "pod": "web-1"}

# Firing runs as (samples in the run, pause before the next run in steps: more than GAP).
runs = st.lists(st.tuples(st.integers(1, 40), st.integers(5, 60)), min_size=1, max_size=12)


def samples(spec: list[tuple[int, int]]) -> tuple[list[float], list[tuple[float, float]]]:
    """Raw sample times and the (first, last) of each run."""
    times, truth, at = [], [], 1_700_000_000.0
    for count, pause in spec:
        run = [at + STEP * i for i in range(count)]
        times += run
        truth.append((run[0], run[-1]))
        at = run[-1] + STEP * pause
    return times, truth


def as_query_range(times: list[float], lookback: int) -> list[float]:
    """What `timestamp(ALERTS)` answers at each step: the newest sample within the
    look-back (so a stopped series repeats its last time for `lookback` steps)."""
    answered, last, i = [], None, 0
    at = times[0]
    while at <= times[-1] + STEP * lookback:
        while i < len(times) and times[i] <= at:
            last, i = times[i], i + 1
        if last is not None and at - last <= STEP * lookback:
            answered.append(last)
        at += STEP
    return answered


@settings(max_examples=200, deadline=None)
@given(spec=runs, lookback=st.integers(0, 10), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_every_run_is_one_episode(spec: list[tuple[int, int]], lookback: int,
                                  cuts: list[int]) -> None:
    times, truth = samples(spec)
    answered = as_query_range(times, lookback)
    builder = EpisodeBuilder(gap=GAP)
    bounds = sorted({0, len(answered), *(c for c in cuts if c < len(answered))})
    for low, high in itertools.pairwise(bounds):  # one chunk each
        builder.add(LABELS, answered[low:high])
    end = datetime.fromtimestamp(times[-1] + 3600, UTC)
    episodes = builder.finish(end)
    assert [(e.start.timestamp(), e.end.timestamp()) for e in episodes] == truth
    assert all(not e.open for e in episodes)
    assert all("alertstate" not in e.labels for e in episodes)


def test_a_series_still_firing_at_the_end_stays_open() -> None:
    builder = EpisodeBuilder(gap=GAP)
    builder.add(LABELS, [1000.0, 1030.0, 1060.0])
    (episode,) = builder.finish(datetime.fromtimestamp(1090, UTC))
    assert episode.open and episode.end == datetime.fromtimestamp(1060, UTC)


def test_series_are_told_apart_by_labels() -> None:
    builder = EpisodeBuilder(gap=GAP)
    builder.add(LABELS, [1000.0, 1030.0])
    builder.add({**LABELS, "pod": "web-2"}, [1030.0, 1060.0])
    episodes = builder.finish(datetime.fromtimestamp(5000, UTC))
    assert [(e.labels["pod"], e.start.timestamp()) for e in episodes] == [
        ("web-1", 1000.0), ("web-2", 1030.0)]
    assert episodes[0].start + timedelta(seconds=30) == episodes[0].end
