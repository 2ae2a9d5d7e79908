"""The benchmark's pure parts: statistics, figure units, the comparison table."""

from __future__ import annotations

import pytest

from bench.compare import rows
from bench.figures import better, unit
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
