"""Did the remediation work? Ask Prometheus (through `remediator.clients.prometheus`).

`verified`: the alert is no longer firing (or the rule's `expr` returns no
series). `unverified`: it still fires. `unknown`: Prometheus could not answer;
the caller retries before settling on `unknown`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from remediator.clients.prometheus import PrometheusConfig, PrometheusExecutor
from remediator.model.outcomes import Outcome
from remediator.model.prometheus import PrometheusError

# Labels of the ALERTS series that are not the alert's own labels.
_SERIES_ONLY = frozenset({"alertstate", "__name__"})


def alerts_query(labels: Mapping[str, str]) -> str:
    """`ALERTS{alertname="X", alertstate="firing"}`: this alert's candidates.

    Not every label can go into the selector: Alertmanager's copy of an alert
    carries Prometheus's external labels (`cluster`, `replica`, ...), which the
    local ALERTS series does not have. `same_alert` finishes the match.
    """
    return f'ALERTS{{alertname={json.dumps(labels.get("alertname", ""))}, alertstate="firing"}}'


def same_alert(series: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """An ALERTS series is this alert when all its own labels agree with the alert's."""
    return all(labels.get(name) == value for name, value in series.items()
               if name not in _SERIES_ONLY)


class PrometheusVerifier:
    """Asks Prometheus on an executor of its own, with connect/read timeouts and TLS checks."""

    def __init__(self, url: str | PrometheusConfig, *,
                 executor: PrometheusExecutor | None = None) -> None:
        config = url if isinstance(url, PrometheusConfig) else PrometheusConfig(url=url)
        self.prometheus = executor or PrometheusExecutor.connect(config)

    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]:
        query = expr or alerts_query(labels)
        try:
            result = await self.prometheus.query(query)
        except PrometheusError as error:
            return Outcome.UNKNOWN, f"Prometheus did not answer {query!r}: {_short(error)}"
        if expr is None:
            result = [r for r in result if same_alert(r.labels, labels)]
        if result:
            return Outcome.UNVERIFIED, f"still true: {query} returned {len(result)} series"
        return Outcome.VERIFIED, f"no longer true: {query}"

    def close(self) -> None:
        self.prometheus.close()


class NoVerifier:
    """Used when no Prometheus is configured: every check is `unknown`."""

    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]:
        return Outcome.UNKNOWN, "no Prometheus configured (REMEDIATOR_PROMETHEUS_URL)"


def _short(error: Exception) -> str:
    text = str(error).splitlines()
    return (text[0] if text else type(error).__name__)[:300]
