"""The detail page's graph: the alert's expression from Prometheus around the action.

The expression comes out of the alert's `generatorURL` (`...graph?g0.expr=...`).
That URL is untrusted: only the expression is used, capped in length, and
sent as a query parameter to the configured `PROMETHEUS_URL`; the host in
`generatorURL` is never contacted. The console queries through an executor
of its own (one thread, a 1 s connect and 2 s read timeout, TLS and token as
configured), so a slow Prometheus delays a page by seconds at most and never
holds the worker's verification queries; answers are kept in a small cache
for a minute, so a page reloaded during an incident asks once. Any failure
becomes a one-line note where the graph would be: the page is always served.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from markupsafe import Markup

from remediator.clients.prometheus import PrometheusConfig, PrometheusExecutor, Series
from remediator.model.outcomes import ACTION_RESULTS, VERIFICATIONS, Outcome
from remediator.model.prometheus import PrometheusError
from remediator.store.views import RemediationView
from remediator.web import sparkline

MAX_EXPRESSION = 2000
"""Longer expressions are not graphed (a generatorURL is untrusted input)."""
HALF_WINDOW = timedelta(minutes=30)
POINTS = 120
CACHE_SIZE = 32
CACHE_SECONDS = 60.0
"""How long an answer (or a failure: `_query`) is reused."""
SETTLE = 30.0
"""Windows ending (at "now") within the same half minute share a cache entry."""
_KINDS: dict[str, str] = {
    **{outcome.value: "action" for outcome in ACTION_RESULTS},
    **{outcome.value: "unverified" for outcome in VERIFICATIONS},
    Outcome.VERIFIED.value: "verified", Outcome.RESOLVED.value: "resolved",
    Outcome.DRY_RUN.value: "dry_run"}
"""Which audit outcomes are marked on the graph, and how (sparkline.MARK_COLOURS)."""


def expression(generator_url: str) -> str | None:
    """The first graph's expression (`g0.expr`) of a Prometheus URL; None if absent/too long."""
    try:
        query = urlsplit(generator_url[:8 * MAX_EXPRESSION]).query
    except ValueError:
        return None
    found = parse_qs(query).get("g0.expr", [""])[0].strip()
    if not found or len(found) > MAX_EXPRESSION:
        return None
    return found


@dataclass(frozen=True)
class Window:
    """What to ask Prometheus for and what to mark."""

    start: datetime
    end: datetime
    step: float
    markers: tuple[sparkline.Marker, ...]


def _marker(ts: str, outcome: str, step: int) -> sparkline.Marker | None:
    kind = _KINDS.get(outcome)
    if kind is None:
        return None
    try:
        at = datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return None
    return sparkline.Marker(at=at, label=f"{ts[11:19]} {outcome} (step {step})", kind=kind)


def window(view: RemediationView, now: datetime) -> Window | None:
    """An hour centred on the first action (or on the remediation's creation), up to now."""
    markers = [m for e in view.timeline if (m := _marker(e.ts, e.outcome, e.step)) is not None]
    acted = [m.at for m in markers if m.kind in ("action", "dry_run")]
    try:
        anchor = (datetime.fromtimestamp(acted[0], now.tzinfo) if acted
                  else datetime.fromisoformat(view.created_at))
    except ValueError:
        return None
    # Whole seconds: Prometheus stamps points in milliseconds, and a point rounded past
    # an `end` with microseconds would fall outside the plot (the newest, maybe the only).
    start = anchor - HALF_WINDOW
    end = min(anchor + HALF_WINDOW, now).replace(microsecond=0)
    if end <= start:
        return None
    span = (end - start).total_seconds()
    step = max(1.0, math.ceil(span / POINTS))
    start = end - timedelta(seconds=math.ceil(span / step) * step)  # `end` is a point: now
    return Window(start, end, step, tuple(markers[:sparkline.MAX_MARKERS]))


@dataclass(frozen=True)
class Graph:
    """What the page shows: the SVG, or a one-line note saying why there is none."""

    svg: Markup | None = None
    note: str = ""
    expression: str = ""


def labels(series: Sequence[Series]) -> list[str]:
    """Legend text per series: the labels that tell them apart (all, for one series),
    without `__name__`, like Grafana's legend."""
    sets = [{k: v for k, v in s.labels.items() if k != "__name__"} for s in series]
    shared = set.intersection(*(set(d.items()) for d in sets)) if len(sets) > 1 else set()
    return ["{" + ", ".join(f'{k}="{v}"' for k, v in sorted(d.items()) if (k, v) not in shared)
            + "}" for d in sets]


class Grapher:
    """Range queries for the console, on an executor of its own, with a small cache."""

    def __init__(self, config: PrometheusConfig | None, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._executor = (PrometheusExecutor.connect(replace(
            config, connect_timeout=min(config.connect_timeout, 1.0),
            read_timeout=min(config.read_timeout, 2.0), workers=1))
            if config is not None else None)
        self._monotonic = monotonic
        self._cache: OrderedDict[tuple[str, float, float],
                                 tuple[float, Window, Sequence[Series] | PrometheusError]] = (
            OrderedDict())

    async def graph(self, view: RemediationView, now: datetime) -> Graph:
        expr = expression(view.alert.generator_url)
        if expr is None:
            return Graph(note="No graph: the alert has no Prometheus expression "
                              "(generatorURL) to plot.")
        if self._executor is None:
            return Graph(note="No graph: PROMETHEUS_URL is not configured.", expression=expr)
        frame = window(view, now)
        if frame is None:
            return Graph(note="No graph: the remediation has no time to plot.", expression=expr)
        try:
            frame, series = await self._query(expr, frame)
        except PrometheusError as error:
            return Graph(note=f"No graph: Prometheus did not answer ({str(error)[:160]}).",
                         expression=expr)
        lines = [sparkline.Line(label, s.points) for label, s in zip(labels(series), series,
                                                                      strict=True)]
        svg = sparkline.render(lines, frame.markers, start=frame.start.timestamp(),
                               end=frame.end.timestamp(), title=expr)
        return Graph(svg=Markup(svg), expression=expr)  # noqa: S704 - built escaped

    async def _query(self, expr: str, frame: Window) -> tuple[Window, Sequence[Series]]:
        """The series over `frame`, or over the cached frame that ends in the same half
        minute (its start and end; this frame's markers). A failure is kept as long, so
        reloading a page while Prometheus stalls costs the wait once."""
        assert self._executor is not None
        end = frame.end.timestamp()
        key = (expr, frame.start.timestamp(), end - end % SETTLE)
        now = self._monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            if isinstance(cached[2], PrometheusError):
                raise cached[2]
            return replace(cached[1], markers=frame.markers), cached[2]
        try:
            answer: Sequence[Series] | PrometheusError = await self._executor.query_range(
                expr, start=frame.start, end=frame.end, step=frame.step)
        except PrometheusError as error:
            answer = error
        self._cache[key] = (now, frame, answer)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if isinstance(answer, PrometheusError):
            raise answer
        return frame, answer

    def close(self) -> None:
        if self._executor is not None:
            self._executor.close()
