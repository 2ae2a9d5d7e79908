"""Range queries against Prometheus' HTTP API, with httpx: timeouts and TLS verified.

Small on purpose (one function and its error); a shared Prometheus client
may replace it later. Only GET `/api/v1/query_range`; never a write.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx


class PrometheusError(RuntimeError):
    """Prometheus could not be asked, or refused the query: one line, no traceback."""


@dataclass(frozen=True, kw_only=True)
class Series:
    labels: Mapping[str, str]
    values: tuple[float, ...]


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Verify certificates: the system's trust store, or `ca_file` (a private CA)."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.check_hostname = True
    return context


def query_range(url: str, query: str, *, start: datetime, end: datetime, step: timedelta,
                timeout: float = 10.0, verify: ssl.SSLContext | None = None,
                transport: httpx.BaseTransport | None = None) -> list[Series]:
    """Run a range query; each series' values (NaN and Inf samples dropped).

    `transport` is for tests that fake the network; production leaves it None.
    """
    params = {"query": query, "start": f"{start.timestamp():.3f}",
              "end": f"{end.timestamp():.3f}", "step": f"{step.total_seconds():g}s"}
    endpoint = url.rstrip("/") + "/api/v1/query_range"
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), verify=verify or tls_context(),
                          transport=transport, follow_redirects=False) as client:
            response = client.get(endpoint, params=params)
    except httpx.HTTPError as error:
        raise PrometheusError(f"Prometheus at {url} did not answer: "
                              f"{type(error).__name__}: {error}") from None
    body = _json(response)
    if response.status_code != 200 or body.get("status") != "success":
        reason = body.get("error") or response.reason_phrase
        raise PrometheusError(f"Prometheus refused {query!r}: HTTP {response.status_code}: "
                              f"{str(reason)[:300]}")
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise PrometheusError(f"Prometheus answered {data.get('resultType')!r}, not a matrix")
    return [_series(item) for item in data.get("result") or []]


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _series(item: Mapping[str, Any]) -> Series:
    values = []
    for _, text in item.get("values") or []:
        value = float(text)
        if value == value and value not in (float("inf"), float("-inf")):
            values.append(value)
    return Series(labels=dict(item.get("metric") or {}), values=tuple(values))
