"""Read firing-alert history from Prometheus in chunks, with prometheus-api-client.

Each chunk is one `query_range` of `timestamp(ALERTS{alertstate="firing"})`
(see `backtest_episodes` for why the timestamp); its samples go straight into
an `EpisodeBuilder` and are dropped, so memory holds one chunk's answer plus
the open episodes. A chunk that fails (timeout, refusal, bad answer) stops the
read with an error naming the chunk: partial history is never returned.

Needs the `remediator[analysis]` extra (prometheus-api-client, requests).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from urllib3.util.retry import Retry

from remediator.report.backtest_episodes import Episode, EpisodeBuilder

QUERY = 'timestamp(ALERTS{alertstate="firing"})'


class HistoryError(RuntimeError):
    """The history could not be read completely: one line, naming the chunk."""


@dataclass(frozen=True, kw_only=True)
class Connection:
    """How to reach Prometheus: URL, TLS trust, bearer token, timeout per request."""

    url: str
    timeout: float = 30.0
    ca_file: Path | None = None
    """A private CA's bundle; None verifies against the system's trust store."""
    bearer_token: str | None = None

    def client(self) -> PrometheusConnect:
        """A client that verifies TLS, sends the token, and does not retry a timeout."""
        session = requests.Session()
        session.verify = str(self.ca_file) if self.ca_file else True
        if self.bearer_token:
            session.headers["Authorization"] = f"Bearer {self.bearer_token}"
        return PrometheusConnect(url=self.url.rstrip("/"), headers={}, session=session,
                                 retry=Retry(total=1, read=False, status=0, backoff_factor=0.2),
                                 timeout=self.timeout)  # type: ignore[arg-type]  # float is fine


@dataclass(frozen=True, kw_only=True)
class History:
    episodes: list[Episode]
    chunks: int
    series: int
    """Distinct series answered over all chunks (churn shows as many more than episodes)."""


def read_history(connection: Connection, *, start: datetime, end: datetime, step: timedelta,
                 chunk: timedelta, gap: timedelta) -> History:
    """The firing episodes between `start` and `end`, or HistoryError for the first bad chunk."""
    if end <= start:
        raise HistoryError(f"empty range: {start.isoformat()} is not before {end.isoformat()}")
    if chunk < step:
        raise HistoryError("the chunk must be at least one step long")
    bounds = _chunks(start, end, chunk)
    builder = EpisodeBuilder(gap=max(gap, step * 2))
    seen: set[tuple[tuple[str, str], ...]] = set()
    with connection.client() as client:
        for number, (low, high) in enumerate(bounds, start=1):
            where = (f"chunk {number}/{len(bounds)} ({low.isoformat()} .. {high.isoformat()})")
            for item in _query(client, connection, low, high, step, where):
                labels, times = _parse(item, where)
                seen.add(tuple(sorted(labels.items())))
                builder.add(labels, times)
    return History(episodes=builder.finish(end), chunks=len(bounds), series=len(seen))


def _chunks(start: datetime, end: datetime, chunk: timedelta) -> list[tuple[datetime, datetime]]:
    bounds = []
    low = start
    while low < end:
        high = min(low + chunk, end)
        bounds.append((low, high))
        low = high
    return bounds


def _query(client: PrometheusConnect, connection: Connection, low: datetime, high: datetime,
           step: timedelta, where: str) -> list[Mapping[str, Any]]:
    try:
        result = client.custom_query_range(QUERY, start_time=low, end_time=high,
                                           step=f"{step.total_seconds():g}s")
    except PrometheusApiClientException as error:
        raise HistoryError(f"Prometheus at {connection.url} refused {where}: "
                           f"{_reason(error)}; no partial result is reported") from None
    except (requests.exceptions.JSONDecodeError, KeyError, TypeError) as error:
        raise HistoryError(f"Prometheus at {connection.url} answered {where} with something "
                           f"that is not a query result: {type(error).__name__}; "
                           "no partial result is reported") from None
    except requests.Timeout:
        raise HistoryError(f"Prometheus at {connection.url} did not answer {where} within "
                           f"{connection.timeout:g}s; no partial result is reported") from None
    except requests.RequestException as error:
        raise HistoryError(f"Prometheus at {connection.url} could not be asked for {where}: "
                           f"{type(error).__name__}; no partial result is reported") from None
    if not isinstance(result, list):
        raise HistoryError(f"Prometheus answered {where} with {type(result).__name__}, "
                           "not a matrix")
    return result


def _reason(error: PrometheusApiClientException) -> str:
    """`HTTP 503: query timed out ...` from the client's `HTTP Status Code 503 (b'{json}')`."""
    text = str(error)
    status = re.search(r"Status Code (\d+)", text)
    message = re.search(r'"error":"((?:[^"\\]|\\.)*)"', text)
    if status and message:
        return f"HTTP {status.group(1)}: {message.group(1)[:300]}"
    return text[:300]


def _parse(item: Mapping[str, Any], where: str) -> tuple[dict[str, str], list[float]]:
    try:
        labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
        times = [float(value) for _, value in item.get("values") or []]
    except (TypeError, ValueError, AttributeError) as error:
        raise HistoryError(f"Prometheus answered {where} with a malformed series: "
                           f"{error}") from None
    return labels, times
