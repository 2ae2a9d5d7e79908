"""Effectiveness for the console and the API: the report's computation over the audit log.

`GET /api/v1/effectiveness?since=30d` answers the report's JSON (what
`remediator report effectiveness --json` prints); `GET /effectiveness` shows
the same figures as a table and, per rule and action (anchor `#rule`), small
server-side SVG bars: no JavaScript, nothing inline for the CSP to refuse.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import HTTPException

from remediator.app.services import Services
from remediator.model.durations import parse_duration
from remediator.report.effectiveness import (
    Effectiveness,
    Entry,
    RuleAction,
    effectiveness,
    quantile,
)
from remediator.report.effectiveness_render import HEADERS, cells, seconds
from remediator.store.readmodel import ReadModel

LONGEST = timedelta(days=400)
"""The longest range a request may read (the audit log's whole retention, at most)."""
BAR = 300


def compute(services: Services, reads: ReadModel, since: str) -> Effectiveness:
    """The report over `[now - since, now)`; a bad `since` is a 400 naming it."""
    try:
        span = parse_duration(since)
    except ValueError as error:
        raise HTTPException(400, f"since: {error}") from None
    if not timedelta(0) < span <= LONGEST:
        raise HTTPException(400, f"since: {since!r} must be above 0s and at most 400d")
    until = services.clock()
    rows = reads.audit.between(until - span, until)
    return effectiveness(map(Entry.of, rows), since=until - span, until=until)


def page_context(result: Effectiveness, since: str) -> dict[str, Any]:
    """The template's figures: the table's cells, and bars scaled to the longest time."""
    return {"since": since, "headers": HEADERS, "result": result,
            "rows": [{"anchor": f"{row.rule}--{row.action}", "cells": cells(row),
                      "bars": _bars(row), "targets": row.targets.most_common(5)}
                     for row in result.rows]}


def _bars(row: RuleAction) -> list[dict[str, Any]]:
    pairs = [("after the action, median", quantile(row.to_resolve, 0.5)),
             ("after the action, p90", row.to_json()["resolved"]["p90_s"]),
             ("nothing acted, median", row.baseline.median),
             ("nothing acted, p90", row.baseline.p90)]
    top = max((v for _, v in pairs if v), default=1.0)
    return [{"label": label, "text": seconds(value), "y": 18 * i,
             "width": round(BAR * (value or 0) / top, 1)} for i, (label, value) in
            enumerate(pairs)]

