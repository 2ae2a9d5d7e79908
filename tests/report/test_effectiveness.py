"""The effectiveness computation over audit entries: pure, table and property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.report.effectiveness import Entry, effectiveness, quantile

T0 = datetime(2026, 1, 1, tzinfo=UTC)
END = T0 + timedelta(days=3)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def acted(rid: str, start: float, resolve: float, *, fp: str = "f1", target: str = "pod/a/web-1",
          verified: str = "verified") -> list[Entry]:
    common = {"remediation_id": rid, "rule": "restart", "alertname": "Crash",
              "fingerprint": fp, "action": "kubernetes.delete_pod", "target": target}
    return [Entry(ts=at(start), outcome="executed", **common),
            Entry(ts=at(start), outcome="succeeded", **common),
            Entry(ts=at(start + 1), outcome=verified, **common),
            Entry(ts=at(resolve), outcome="resolved", **common)]


def unacted(start: float, resolve: float, *, fp: str = "f9",
            outcome: str = "no_match") -> list[Entry]:
    return [Entry(ts=at(start), outcome=outcome, alertname="Crash", fingerprint=fp),
            Entry(ts=at(resolve), outcome="resolved", alertname="Crash", fingerprint=fp)]


def test_counts_times_baseline_recurrence_and_targets() -> None:
    entries = [*acted("r1", 0, 4), *acted("r2", 30, 32, verified="unverified"),
               *acted("r3", 2000, 2010, fp="f2", target="pod/a/web-2"),
               *unacted(10, 40), *unacted(100, 120, outcome="dry_run")]
    (row,) = effectiveness(entries, since=T0, until=END).rows
    data = row.to_json()
    counts = (data["executed"], data["succeeded"], data["verified"], data["unverified"])
    assert counts == (3, 3, 2, 1)
    assert data["resolved"] == {"count": 3, "median_s": 240.0, "p90_s": 600.0}
    assert data["baseline"] == {"count": 2, "median_s": 1200.0, "p90_s": 1800.0}
    # r1 resolved at 4 min and the alert was back at 30 min; r2 and r3 never came back.
    assert data["recurrence"]["1h"] == {"ratio": pytest.approx(1 / 3), "episodes": 3}
    assert data["top_targets"][0] == {"target": "pod/a/web-1", "actions": 2}


def test_a_window_not_yet_elapsed_is_left_out_rather_than_counted_as_not_back() -> None:
    (row,) = effectiveness(acted("r1", 0, 10), since=T0, until=at(30)).rows
    assert row.to_json()["recurrence"]["1h"] == {"ratio": None, "episodes": 0}


def test_entries_outside_the_range_do_not_count() -> None:
    assert effectiveness(acted("r1", 0, 10), since=at(60), until=END).rows == ()


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200))
def test_median_and_p90_are_values_that_occurred_in_order(values: list[float]) -> None:
    median, p90 = quantile(values, 0.5), quantile(values, 0.9)
    assert median in values and p90 in values
    assert min(values) <= median <= p90 <= max(values)  # type: ignore[operator]
    assert sum(v <= median for v in values) >= len(values) / 2  # type: ignore[operator]
    assert sum(v <= p90 for v in values) >= 0.9 * len(values)  # type: ignore[operator]


@given(st.lists(st.tuples(st.integers(0, 600), st.integers(1, 180)), min_size=1, max_size=12))
def test_every_resolved_action_is_timed_and_recurrence_stays_a_ratio(
        episodes: list[tuple[int, int]]) -> None:
    """Episodes of one alert one after another: each gap decides whether it came back."""
    entries, start = [], 0
    for i, (gap, length) in enumerate(episodes):
        start += gap
        entries += acted(f"r{i}", start, start + length)
        start += length + 1
    (row,) = effectiveness(entries, since=T0, until=T0 + timedelta(days=30)).rows
    assert row.executed == len(episodes) == len(row.to_resolve)
    assert sorted(row.to_resolve) == sorted(60.0 * length for _, length in episodes)
    for window in ("1h", "24h"):
        ratio = row.recurrence(window)
        assert ratio is None or 0 <= ratio <= 1
    assert row.recurrence("1h") <= row.recurrence("24h")  # type: ignore[operator]
