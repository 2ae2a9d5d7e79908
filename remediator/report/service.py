"""The right-sizing report, start to end: read, recommend, hand back. Changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes.client import ApiClient

from remediator.model import validation
from remediator.model.durations import format_duration
from remediator.report.prometheus import Connection
from remediator.report.rightsizing import Policy, Recommendation, counts, recommend_all
from remediator.report.sources import read_cluster, read_usage, step_for


@dataclass(frozen=True, kw_only=True)
class Report:
    namespace: str
    window: timedelta
    end: datetime
    recommendations: tuple[Recommendation, ...]

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "window": format_duration(self.window),
                "end": self.end.isoformat(), "summary": counts(self.recommendations),
                "recommendations": [r.to_json() for r in self.recommendations]}


def rightsizing(client: ApiClient, prometheus_url: str, namespace: str, *, window: timedelta,
                end: datetime, rate_window: timedelta = timedelta(minutes=5),
                timeout: float = 10.0, policy: Policy | None = None,
                ca_file: Path | None = None, bearer_token: str | None = None) -> Report:
    """Recommendations for every container of every workload in `namespace`.

    CPU usage is `rate()` over `rate_window` (cAdvisor's counter), sampled
    at about 1000 steps over `window`.

    Raises `validation.InvalidTarget` for a namespace that is not a DNS label
    (it goes into a PromQL selector and an API path), `PrometheusError` when
    Prometheus cannot answer, and the client's `ApiException` for the cluster.
    """
    namespace = validation.namespace(namespace)
    if window <= timedelta(0) or rate_window <= timedelta(0):
        raise ValueError("the window and the rate window must be positive")
    cluster = read_cluster(client, namespace, timeout=timeout)
    prometheus = Connection(url=prometheus_url, timeout=timeout, ca_file=ca_file,
                            bearer_token=bearer_token)
    usage = read_usage(prometheus, namespace, cluster, end=end, window=window,
                       step=step_for(window), rate_window=format_duration(rate_window))
    return Report(namespace=namespace, window=window, end=end,
                  recommendations=tuple(recommend_all(cluster.allocations, usage, policy)))
