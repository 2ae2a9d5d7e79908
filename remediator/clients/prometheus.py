"""A small typed Prometheus HTTP API client: instant and range queries.

Why our own (instead of prometheus-api-client): every request has explicit
connect and read timeouts, TLS is verified (against `ca_file` when given;
`insecure` is an explicit opt-out), and a bearer token can come from a file
(re-read per client, so a rotated ServiceAccount token is picked up on
restart). The client itself is synchronous and blocking, for the CLI;
`PrometheusExecutor` runs it for the service on a small thread pool of its
own, so a Prometheus that accepts connections and never answers ties up at
most those threads, never the default pool that the webhook's writer uses.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from remediator.model.prometheus import PrometheusError, Sample

if TYPE_CHECKING:  # httpx is imported by the client: a service without Prometheus skips it
    import httpx

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class PrometheusConfig:
    """Where Prometheus is and how to talk to it safely."""

    url: str
    ca_file: Path | None = None
    insecure: bool = False
    """Skip TLS verification: only for a lab; never the default."""
    token_file: Path | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    workers: int = 2
    """Threads of the service's Prometheus executor (concurrent queries)."""

    @classmethod
    def from_settings(cls, settings: Any) -> PrometheusConfig | None:
        """From `Settings` (`prometheus_url`, `prometheus_ca_file`, ...); None without a URL."""
        if not settings.prometheus_url:
            return None
        return cls(url=settings.prometheus_url, ca_file=settings.prometheus_ca_file,
                   insecure=settings.prometheus_tls_insecure,
                   token_file=settings.prometheus_token_file,
                   connect_timeout=settings.prometheus_connect_timeout,
                   read_timeout=settings.prometheus_read_timeout)


@dataclass(frozen=True)
class Series:
    """One series of a range query: (unix time, value) points."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


def _verify(config: PrometheusConfig) -> ssl.SSLContext | bool:
    if config.insecure:
        return False
    if config.ca_file is not None:
        return ssl.create_default_context(cafile=str(config.ca_file))
    return True


def _headers(config: PrometheusConfig) -> dict[str, str]:
    if config.token_file is None:
        return {}
    token = config.token_file.read_text(encoding="utf-8").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


class PrometheusClient:
    """Blocking client of `/api/v1/query` and `/api/v1/query_range`."""

    def __init__(self, config: PrometheusConfig, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        import httpx

        self.config = config
        timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
        self._http = httpx.Client(base_url=config.url.rstrip("/"), timeout=timeout,
                                  verify=_verify(config), headers=_headers(config),
                                  transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def query(self, expr: str, *, at: datetime | None = None) -> list[Sample]:
        """An instant query; a scalar result becomes one sample with no labels."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        data = self._get("/api/v1/query", params)
        kind, result = data.get("resultType"), data.get("result")
        if kind in ("scalar", "string") and isinstance(result, list) and len(result) == 2:
            return [Sample({}, _float(result[1]))]
        if kind != "vector" or not isinstance(result, list):
            raise PrometheusError(f"unexpected result type {kind!r} for {expr!r}")
        return [Sample(_labels(item), _float(item.get("value", [0, "NaN"])[1]))
                for item in result]

    def query_range(self, expr: str, *, start: datetime, end: datetime,
                    step: float) -> list[Series]:
        """A range query from `start` to `end` every `step` seconds."""
        if step <= 0:
            raise ValueError("step must be positive")
        params = {"query": expr, "start": f"{start.timestamp():.3f}",
                  "end": f"{end.timestamp():.3f}", "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        if data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
            raise PrometheusError(f"unexpected result type {data.get('resultType')!r}")
        return [Series(_labels(item), tuple((float(t), _float(v))
                                            for t, v in item.get("values", [])))
                for item in data["result"]]

    def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as error:
            raise PrometheusError(f"timed out ({type(error).__name__})") from None
        except httpx.HTTPError as error:
            raise PrometheusError(f"request failed: {type(error).__name__}: "
                                  f"{str(error)[:200]}") from None
        try:
            body: Any = response.json()
        except ValueError:
            raise PrometheusError(f"HTTP {response.status_code}: not JSON") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            said = body.get("error", "") if isinstance(body, dict) else ""
            raise PrometheusError(f"HTTP {response.status_code}: {str(said)[:300]}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise PrometheusError("response has no data")
        return data


def _labels(item: Any) -> dict[str, str]:
    metric = item.get("metric", {}) if isinstance(item, dict) else {}
    return {str(k): str(v) for k, v in metric.items()} if isinstance(metric, dict) else {}


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


class PrometheusExecutor:
    """Runs a `PrometheusClient` for the event loop, on threads of its own, within a deadline.

    The deadline (`connect + read` timeouts plus a margin) bounds the caller
    even when every thread is busy and the call waits in the queue.
    """

    def __init__(self, client: PrometheusClient) -> None:
        self.client = client
        config = client.config
        self._executor = ThreadPoolExecutor(max_workers=config.workers,
                                            thread_name_prefix="prometheus")
        self.deadline = config.connect_timeout + config.read_timeout + 1.0

    @classmethod
    def connect(cls, config: PrometheusConfig) -> PrometheusExecutor:
        return cls(PrometheusClient(config))

    async def query(self, expr: str) -> list[Sample]:
        return await self._run(partial(self.client.query, expr))

    async def query_range(self, expr: str, *, start: datetime, end: datetime,
                          step: float) -> list[Series]:
        return await self._run(partial(self.client.query_range, expr, start=start, end=end,
                                       step=step))

    async def _run(self, call: partial[T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, call),
                                          self.deadline)
        except TimeoutError:
            raise PrometheusError(f"no answer within {self.deadline:g}s") from None

    def close(self) -> None:
        """Stop taking work; threads end when their (bounded) requests do."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()
