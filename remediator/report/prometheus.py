"""Range queries against Prometheus' HTTP API, with prometheus-api-client.

Shared by the right-sizing report and the backtest (the `remediator[analysis]`
extra: prometheus-api-client, which brings requests). TLS is always verified
(the system's trust store, or a private CA's bundle), a bearer token is sent
when given and never printed, every request has a timeout, and a timeout is
not retried. Only GET `/api/v1/query_range`; never a write.
"""

from __future__ import annotations

import math
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


class PrometheusError(RuntimeError):
    """Prometheus could not be asked, or refused the query: one line, no traceback."""


@dataclass(frozen=True, kw_only=True)
class Series:
    labels: Mapping[str, str]
    values: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class Connection:
    """How to reach Prometheus: URL, TLS trust, bearer token, timeout per request."""

    url: str
    timeout: float = 10.0
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


def range_answer(client: PrometheusConnect, connection: Connection, query: str, *,
                 start: datetime, end: datetime, step: timedelta,
                 where: str) -> list[Mapping[str, Any]]:
    """The raw matrix of one range query; PrometheusError saying `where` otherwise."""
    url = connection.url
    try:
        result = client.custom_query_range(query, start_time=start, end_time=end,
                                           step=f"{step.total_seconds():g}s")
    except PrometheusApiClientException as error:
        raise PrometheusError(f"Prometheus at {url} refused {where}: {_reason(error)}") from None
    except (requests.exceptions.JSONDecodeError, KeyError, TypeError) as error:
        raise PrometheusError(f"Prometheus at {url} answered {where} with something that is "
                              f"not a query result: {type(error).__name__}") from None
    except requests.Timeout:
        raise PrometheusError(f"Prometheus at {url} did not answer {where} within "
                              f"{connection.timeout:g}s") from None
    except requests.RequestException as error:
        raise PrometheusError(f"Prometheus at {url} could not be asked for {where}: "
                              f"{type(error).__name__}") from None
    if not isinstance(result, list):
        raise PrometheusError(f"Prometheus answered {where} with {type(result).__name__}, "
                              "not a matrix")
    return result


def query_range(connection: Connection, query: str, *, start: datetime, end: datetime,
                step: timedelta) -> list[Series]:
    """Run one range query; each series' values (NaN and Inf samples dropped)."""
    with connection.client() as client:
        answer = range_answer(client, connection, query, start=start, end=end, step=step,
                              where=repr(query))
    try:
        return [_series(item) for item in answer]
    except (TypeError, ValueError, AttributeError) as error:
        raise PrometheusError(f"Prometheus answered {query!r} with a malformed series: "
                              f"{error}") from None


def _reason(error: PrometheusApiClientException) -> str:
    """`HTTP 503: query timed out ...` from the client's `HTTP Status Code 503 (b'{json}')`."""
    text = str(error)
    status = re.search(r"Status Code (\d+)", text)
    message = re.search(r'"error":"((?:[^"\\]|\\.)*)"', text)
    if status and message:
        return f"HTTP {status.group(1)}: {message.group(1)[:300]}"
    return text[:300]


def _series(item: Mapping[str, Any]) -> Series:
    values = [float(text) for _, text in item.get("values") or []]
    return Series(labels={str(k): str(v) for k, v in (item.get("metric") or {}).items()},
                  values=tuple(v for v in values if math.isfinite(v)))
