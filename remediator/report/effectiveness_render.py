"""Effectiveness as a terminal table and as one self-contained HTML file.

The HTML reuses the backtest's inline CSS, table and SVG bar helpers: no
script, font or image is fetched, every label value is escaped (rule names
are ours, but targets come from alert labels).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from remediator.report.backtest_html import _STYLE, _bars_svg, _table
from remediator.report.effectiveness import Effectiveness, RuleAction

if TYPE_CHECKING:
    from rich.table import Table

HEADERS = ("rule", "action", "executed", "succeeded", "failed", "verified", "unverified",
           "verified %", "to resolve p50", "p90", "baseline p50", "p90 ", "back 1h",
           "back 24h", "top target")


def seconds(value: float | None) -> str:
    """`1h02m`, `3m05s`, `42s`; `-` when there is no figure."""
    if value is None:
        return "-"
    whole = round(value)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def cells(row: RuleAction) -> list[str]:
    """One table row, the same for the terminal, the HTML file and the console page."""
    data = row.to_json()
    top = row.targets.most_common(1)
    return [row.rule, row.action, str(row.executed), str(data["succeeded"]), str(data["failed"]),
            str(data["verified"]), str(data["unverified"]), percent(row.verified_ratio),
            seconds(data["resolved"]["median_s"]), seconds(data["resolved"]["p90_s"]),
            seconds(row.baseline.median), seconds(row.baseline.p90),
            percent(row.recurrence("1h")), percent(row.recurrence("24h")),
            f"{top[0][0]} ({top[0][1]})" if top else "-"]


def table(result: Effectiveness) -> Table:
    from rich.table import Table

    out = Table(title=f"Effectiveness {result.since:%Y-%m-%d %H:%M} .. "
                      f"{result.until:%Y-%m-%d %H:%M} UTC")
    for header in HEADERS:
        out.add_column(header)
    for row in result.rows:
        out.add_row(*cells(row))
    return out


def html_report(result: Effectiveness) -> str:
    """The table, then per rule and action: resolve times against the baseline, top targets."""
    columns = [list(c) for c in zip(*(cells(r) for r in result.rows), strict=True)] \
        if result.rows else []
    title = (f"Effectiveness {result.since:%Y-%m-%d %H:%M} .. {result.until:%Y-%m-%d %H:%M}"
             " UTC")
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>remediator "
             f"effectiveness</title><style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>",
             _table("Per rule and action", list(HEADERS), columns)]
    for row in result.rows:
        parts += [f"<h2 id='{escape(row.rule)}'>{escape(row.rule)}: {escape(row.action)}</h2>",
                  "<h3>Median seconds to resolve: after the action, and when nothing acted</h3>",
                  _bars_svg({"after the action": round(_median(row) or 0),
                             "baseline": round(row.baseline.median or 0)}),
                  "<h3>Most remediated targets</h3>",
                  _bars_svg(dict(row.targets.most_common(5)))]
    parts.append("</body></html>")
    return "\n".join(parts)


def _median(row: RuleAction) -> float | None:
    median: float | None = row.to_json()["resolved"]["median_s"]
    return median
