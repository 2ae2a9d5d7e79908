"""docs/reference/metrics.md: every metric the service exports, read from the
registry `Services.build` and the web layer assemble, built here without a server."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from remediator.app.metrics import Metrics
from remediator.docs.tables import GENERATED, code, table
from remediator.web.metrics import WebMetrics

_INTRO = """\
# Metrics reference

{generated}

`GET /metrics` (Prometheus text format; the chart's ServiceMonitor scrapes it).
Counters are exported with `_total` (and `_created`), histograms as `_bucket`,
`_sum` and `_count`. `outcome` labels take the values of the
[outcome vocabulary](outcomes.md). The alerts on these metrics are in
`alerts/remediator.yml`, each with a runbook in `runbooks/`.
"""
_SUFFIX = {"counter": "_total"}


def service_registry() -> CollectorRegistry:
    """The registry a serving process exports, with no database or server behind it."""
    metrics = Metrics.create()
    WebMetrics.of(metrics)
    return metrics.registry


def _collectors(registry: CollectorRegistry) -> list[Collector]:
    # prometheus_client has no public list of a registry's collectors; labels
    # of a metric with no samples yet are only on the collector itself.
    return list(registry._collector_to_names)


def metrics_page(registry: CollectorRegistry | None = None) -> str:
    rows = []
    for collector in _collectors(registry or service_registry()):
        labels = ", ".join(code(label) for label in getattr(collector, "_labelnames", ()))
        for metric in collector.collect():
            name = metric.name + _SUFFIX.get(metric.type, "")
            rows.append((code(name), metric.type, labels, metric.documentation))
    rows.sort()
    body = table(["metric", "type", "labels", "help"], rows)
    return _INTRO.format(generated=GENERATED) + "\n" + body + "\n"
