"""The right-sizing report for a terminal (a rich table) or for tools (JSON)."""

from __future__ import annotations

from rich.table import Table

from remediator.model.durations import format_duration
from remediator.report.rightsizing import Recommendation, counts, format_amount
from remediator.report.service import Report

_STYLE = {"ok": "green", "over": "yellow", "under": "red", "limit": "red", "unset": "yellow",
          "no_data": "dim"}


def table(report: Report) -> Table:
    title = (f"Right-sizing for {report.namespace}: p95 usage over "
             f"{format_duration(report.window)} (recommendations only; nothing is changed)")
    grid = Table(title=title, title_justify="left")
    for column in ("workload", "container", "resource", "request", "limit", "p95 usage",
                   "verdict", "suggest request", "suggest limit", "why"):
        grid.add_column(column, overflow="fold")
    for item in report.recommendations:
        grid.add_row(*_row(item))
    return grid


def _row(item: Recommendation) -> list[str]:
    amount = item.resource
    style = _STYLE[item.verdict]
    return [item.workload, item.container, amount, format_amount(amount, item.request),
            format_amount(amount, item.limit), format_amount(amount, item.usage),
            f"[{style}]{item.verdict}[/{style}]",
            format_amount(amount, item.suggested_request),
            format_amount(amount, item.suggested_limit), item.reason]


def summary(report: Report) -> str:
    verdicts = counts(report.recommendations)
    parts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(verdicts.items()))
    return f"{len(report.recommendations)} container resources: {parts or 'none'}"
