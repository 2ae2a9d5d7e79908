"""The benchmark's own parts: statistics, figure units, the comparison table, and
how it counts a process tree's CPU."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.compare import rows
from bench.figures import better, unit
from bench.service import proc_cpu_s, tree_cpu_s
from bench.stats import pct, slope, spread


def test_slope_of_a_line_and_of_too_few_points() -> None:
    assert slope([(0, 1.0), (1, 3.0), (2, 5.0)]) == pytest.approx(2.0)
    assert slope([(0, 80.0), (1, 80.0), (2, 80.0)]) == pytest.approx(0.0)
    assert slope([(0, 1.0)]) is None
    assert slope([(1, 1.0), (1, 2.0)]) is None


def test_spread_and_nearest_rank_percentile() -> None:
    assert spread([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0,
                                       "values": [3.0, 1.0, 2.0]}
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 0.99) == 99.0
    assert pct(values, 0.5) == 50.0
    assert pct([], 0.5) is None


@pytest.mark.parametrize(("name", "expected_unit", "direction"), [
    pytest.param("alerts_per_s", "/s", "higher", id="throughput"),
    pytest.param("p99_ms", "ms", "lower", id="latency"),
    pytest.param("postgres_cpu_per_alert_us", "us", "lower", id="cpu-per-alert"),
    pytest.param("startup_new_db_s", "s", "lower", id="time"),
    pytest.param("rss_after_storm_mb", "MB", "lower", id="memory"),
    pytest.param("rss_slope_mb_per_min", "MB/min", "lower", id="slope"),
    pytest.param("server_cpu_util", "cores", "", id="cpu"),
    pytest.param("audit_rows", "", "", id="count"),
])
def test_figure_units_follow_the_name(name: str, expected_unit: str, direction: str) -> None:
    assert unit(name) == expected_unit
    assert better(name) == direction


def test_compare_rows_say_delta_percent_and_direction() -> None:
    def result(alerts: float, p99: float) -> dict[str, object]:
        return {"scenarios": {"storm": {"figures": {
            "alerts_per_s": {"median": alerts, "unit": "/s", "better": "higher"},
            "p99_ms": {"median": p99, "unit": "ms", "better": "lower"}}}}}

    table = rows(result(4000, 100), result(5000, 120))
    assert table[0] == ("storm", "alerts_per_s", "4,000", "5,000", "+1,000", "+25.0%", "/s",
                        "better")
    assert table[1] == ("storm", "p99_ms", "100", "120", "+20", "+20.0%", "ms", "worse")


def test_tree_cpu_counts_a_live_descendants_time() -> None:
    """PostgreSQL's CPU is spent in backends, children of the process started: a
    parent that only waits must show its busy child's seconds in `tree_cpu_s`."""
    burn = ("import sys, time\n"
            "while time.process_time() < 0.3: pass\n"
            "print('spent', flush=True)\n"
            "sys.stdin.read()\n")
    with subprocess.Popen(
            [sys.executable, "-c",
             f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}])"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdin is not None and parent.stdout is not None
        try:
            assert parent.stdout.readline() == "spent\n"
            assert tree_cpu_s(parent.pid) >= 0.29
            assert proc_cpu_s(parent.pid) < 0.29  # the parent itself only started and waited
        finally:
            parent.stdin.close()  # the child's read ends: both exit
