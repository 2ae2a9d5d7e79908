"""Series and moments in time -> one inline SVG: the alert's graph on the detail page.

Pure (no I/O), so any input can be tried: NaN and infinite values leave gaps,
an empty range says "no data", values near the float limits are scaled
without overflowing. Labels come from Prometheus (untrusted): they are
escaped, stripped of characters XML cannot hold, and cut short. Colours and
dashes are presentation attributes (`stroke=`), never `style=`, so the
console's Content-Security-Policy (`style-src 'self'`) needs no exception; the
SVG has no script and links nowhere.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 10, 24
"""The plot area's margins: the y labels left of it, the times under it."""
ROW = 16
"""Height of one legend line under the plot."""
MAX_SERIES = 5
MAX_MARKERS = 8
MAX_LABEL = 90
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
MARK_COLOURS = {"action": "#d62728", "verified": "#2ca02c", "unverified": "#ff7f0e",
                "resolved": "#7f7f7f", "dry_run": "#17becf"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Line:
    """One series: a label (its Prometheus labels, in brief) and (unix time, value) points."""

    label: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Marker:
    """A moment to mark with a vertical line: what happened (`kind` picks the colour)."""

    at: float
    label: str
    kind: str = "action"


@dataclass(frozen=True)
class _Frame:
    """Where the plot area is and what it spans: maps (time, value) to (x, y)."""

    start: float
    end: float
    low: float
    high: float
    width: int = WIDTH

    @property
    def right(self) -> float:
        return self.width - RIGHT

    def x(self, at: float) -> float:
        share = (at / 2 - self.start / 2) / (self.end / 2 - self.start / 2)
        return LEFT + min(max(share, 0.0), 1.0) * (self.right - LEFT)

    def y(self, value: float) -> float:
        span = self.high / 2 - self.low / 2  # halves: no overflow near the float limits
        share = (value / 2 - self.low / 2) / span if span > 0 else 0.5
        return (HEIGHT - BOTTOM) - min(max(share, 0.0), 1.0) * (HEIGHT - BOTTOM - TOP)

    def holds(self, at: float) -> bool:
        return self.start <= at <= self.end


def text(value: str, limit: int = MAX_LABEL) -> str:
    """Untrusted text as SVG character data: valid XML characters only, cut, escaped."""
    clean = _NOT_XML.sub("\ufffd", value)
    if len(clean) > limit:
        clean = clean[:limit - 1] + "\u2026"
    return escape(clean, {'"': "&quot;"})


def _finite(line: Line) -> list[float]:
    return [v for t, v in line.points if math.isfinite(v) and math.isfinite(t)]


def top_series(lines: Sequence[Line], limit: int = MAX_SERIES) -> list[Line]:
    """The `limit` lines with the highest values (lines with no value at all last)."""
    def peak(line: Line) -> float:
        values = _finite(line)
        return max(values) if values else -math.inf

    return sorted(lines, key=peak, reverse=True)[:limit]


def _bounds(lines: Sequence[Line]) -> tuple[float, float] | None:
    values = [v for line in lines for v in _finite(line)]
    if not values:
        return None
    low, high = min(values), max(values)
    if low == high:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = min(values), max(values)
    return low, high


def _paths(line: Line, frame: _Frame) -> list[str]:
    """`d` attributes of the line, one per run of finite points (gaps stay gaps)."""
    runs: list[list[str]] = [[]]
    for at, value in line.points:
        if math.isfinite(value) and math.isfinite(at) and frame.holds(at):
            runs[-1].append(f"{frame.x(at):.1f},{frame.y(value):.1f}")
        elif runs[-1]:
            runs.append([])
    return ["M" + " L".join(run) if len(run) > 1 else f"M{run[0]} h0.5"
            for run in runs if run]


def _number(value: float) -> str:
    return f"{value:.4g}"


def _clock(at: float) -> str:
    try:
        return datetime.fromtimestamp(at, UTC).strftime("%H:%M")
    except (OverflowError, OSError, ValueError):
        return "?"


def _axes(frame: _Frame) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, frame.right
    return [
        f'<rect x="{LEFT}" y="{TOP}" width="{right - LEFT:.0f}" height="{bottom - TOP}" '
        'fill="#fff" stroke="#ccc"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 9}" text-anchor="end" font-size="11" '
        f'fill="#555">{_number(frame.high)}</text>',
        f'<text x="{LEFT - 4}" y="{bottom}" text-anchor="end" font-size="11" '
        f'fill="#555">{_number(frame.low)}</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="11" fill="#555">'
        f'{_clock(frame.start)} UTC</text>',
        f'<text x="{right:.0f}" y="{HEIGHT - 8}" text-anchor="end" font-size="11" '
        f'fill="#555">{_clock(frame.end)} UTC</text>',
    ]


def _marker(marker: Marker, frame: _Frame) -> str:
    x = frame.x(marker.at)
    colour = MARK_COLOURS.get(marker.kind, "#000")
    return (f'<line class="marker" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" '
            f'y2="{HEIGHT - BOTTOM}" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="5,3"><title>{text(marker.label)}</title></line>')


def _legend(entries: Sequence[tuple[str, str, bool]], top: int) -> list[str]:
    """One row per (label, colour, dashed): a short stroke, then the label."""
    out = []
    for row, (label, colour, dashed) in enumerate(entries):
        y = top + row * ROW
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        out.append(f'<line x1="{LEFT}" y1="{y - 4}" x2="{LEFT + 18}" y2="{y - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>'
                   f'<text x="{LEFT + 24}" y="{y}" font-size="11" fill="#333">'
                   f'{text(label)}</text>')
    return out


def render(lines: Sequence[Line], markers: Sequence[Marker], *, start: float, end: float,
           title: str = "", width: int = WIDTH) -> str:
    """The SVG document: at most MAX_SERIES lines (highest first), markers, a legend."""
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise ValueError(f"empty time range {start!r}..{end!r}")
    shown = top_series(lines)
    bounds = _bounds(shown) or (0.0, 1.0)
    frame = _Frame(start, end, bounds[0], bounds[1], width)
    body = _axes(frame)
    if _bounds(shown) is None:
        body.append(f'<text x="{(LEFT + frame.right) / 2:.0f}" y="{HEIGHT / 2:.0f}" '
                    'text-anchor="middle" font-size="13" fill="#777">no data</text>')
    legend: list[tuple[str, str, bool]] = []
    for index, line in enumerate(shown):
        colour = PALETTE[index % len(PALETTE)]
        body += [f'<path class="series" d="{d}" fill="none" stroke="{colour}" '
                 'stroke-width="1.5"/>' for d in _paths(line, frame)]
        legend.append((line.label or "{}", colour, False))
    if len(lines) > len(shown):
        legend.append((f"{len(shown)} of {len(lines)} series shown (highest)", "#fff", False))
    for marker in markers[:MAX_MARKERS]:
        inside = math.isfinite(marker.at) and frame.holds(marker.at)
        if inside:
            body.append(_marker(marker, frame))
        note = "" if inside else " (outside the graph)"
        legend.append((marker.label + note, MARK_COLOURS.get(marker.kind, "#000"), True))
    height = HEIGHT + ROW * len(legend) + (4 if legend else 0)
    body += _legend(legend, HEIGHT + ROW - 2)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="graph" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="sans-serif"><title>{text(title or "graph")}</title>'
            + "".join(body) + "</svg>")
