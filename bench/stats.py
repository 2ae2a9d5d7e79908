"""Small statistics for benchmark figures: percentiles, min/median/max, a slope."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any


def pct(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1): an observed value, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q * len(ordered) - 1e-9)  # the float product can overshoot an integer
    return ordered[min(len(ordered), max(1, rank)) - 1]


def spread(values: Sequence[float]) -> dict[str, Any]:
    """min/median/max of one figure over repeated runs (and the values themselves)."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "values": list(values)}


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope dy/dx of (x, y) points; None below two distinct x."""
    if len(points) < 2:
        return None
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx
