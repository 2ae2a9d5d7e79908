"""A backtest as one self-contained HTML file: inline CSS and server-side SVG.

No script, font or image is fetched from anywhere: the file opens offline and
can be attached to a ticket. Every label value is escaped (they come from
alert labels, which are untrusted).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from html import escape

from remediator.report.backtest_render import rules_table, targets_table, timeline_table
from remediator.report.backtest_replay import HOLDING, Backtest

_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")
_W, _H, _PAD = 760, 220, 40
_STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
          "margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
          "td:first-child,th:first-child{text-align:left}svg{background:#fafafa}")


def html_report(result: Backtest, *, complete: bool = True) -> str:
    """The whole page: tables, then actions per hour, hold-backs and targets as SVG."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>remediator backtest"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>Backtest {result.start:%Y-%m-%d %H:%M} .. {result.end:%Y-%m-%d %H:%M} UTC"
             "</h1>"]
    if not complete:
        parts.append("<p><strong>Incomplete history: do not read this as the whole range."
                      "</strong></p>")
    for table in (rules_table(result), targets_table(result), timeline_table(result)):
        parts.append(_table(str(table.title or ""), [str(c.header) for c in table.columns],
                            [list(map(str, c.cells)) for c in table.columns]))
    parts += ["<h2>Actions per hour, per rule</h2>", _hourly_svg(result),
              "<h2>Held back, per guard</h2>", _bars_svg(_held_back(result)),
              "<h2>Episodes per target (top 20)</h2>",
              _bars_svg(dict(result.episodes_per_target.most_common(20))),
              "</body></html>"]
    return "\n".join(parts)


def _table(title: str, headers: list[str], columns: list[list[str]]) -> str:
    rows = zip(*columns, strict=True) if columns else iter(())
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<h2>{escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def _held_back(result: Backtest) -> dict[str, int]:
    total: Counter[str] = Counter()
    for tally in result.rules.values():
        total.update(tally.held_back)
    return {o.value: total.get(o.value, 0) for o in HOLDING}


def _hourly_svg(result: Backtest) -> str:
    per_rule = result.acting_per_hour()
    hours = max(int((result.end - result.start).total_seconds() // 3600) + 1, 1)
    first = result.start.replace(minute=0, second=0, microsecond=0)
    top = max((n for c in per_rule.values() for n in c.values()), default=1)
    x_step = (_W - 2 * _PAD) / hours
    lines, legend = [], []
    for i, (rule, counts) in enumerate(sorted(per_rule.items())):
        colour = _COLOURS[i % len(_COLOURS)]
        points = " ".join(
            f"{_PAD + h * x_step:.1f},{_y(counts.get(first + timedelta(hours=h), 0), top):.1f}"
            for h in range(hours))
        lines.append(f"<polyline fill='none' stroke='{colour}' points='{points}'/>")
        legend.append(f"<text x='{_W - 200}' y='{20 + 14 * i}' fill='{colour}' "
                      f"font-size='12'>{escape(rule)}</text>")
    axis = _axis(top, f"{_label(first)} .. {_label(result.end)} (hours)")
    return _svg(_H, axis + "".join(lines) + "".join(legend))


def _bars_svg(values: dict[str, int]) -> str:
    if not values:
        return "<p>none</p>"
    top = max(max(values.values()), 1)
    row = 18
    height = row * len(values) + 20
    bars = []
    for i, (name, n) in enumerate(values.items()):
        width = (_W - 260) * n / top
        bars.append(f"<text x='0' y='{i * row + 14}' font-size='12'>{escape(name[:34])}</text>"
                    f"<rect x='220' y='{i * row + 3}' width='{width:.1f}' height='{row - 5}' "
                    f"fill='#1f77b4'/><text x='{225 + width:.1f}' y='{i * row + 14}' "
                    f"font-size='12'>{n}</text>")
    return _svg(height, "".join(bars))


def _y(value: int, top: int) -> float:
    return _H - _PAD - (_H - 2 * _PAD) * value / max(top, 1)


def _axis(top: int, caption: str) -> str:
    return (f"<line x1='{_PAD}' y1='{_H - _PAD}' x2='{_W - _PAD}' y2='{_H - _PAD}' "
            f"stroke='#888'/><line x1='{_PAD}' y1='{_PAD}' x2='{_PAD}' y2='{_H - _PAD}' "
            f"stroke='#888'/><text x='4' y='{_PAD}' font-size='11'>{top}</text>"
            f"<text x='{_PAD}' y='{_H - 10}' font-size='11'>{escape(caption)}</text>")


def _svg(height: int, body: str) -> str:
    return (f"<svg width='{_W}' height='{height}' "
            f"role='img'>{body}</svg>")


def _label(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M}"
