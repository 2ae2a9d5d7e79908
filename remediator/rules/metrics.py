"""What the rule book reports: how many rules are in force, and how the last load went.

Built on a registry the composition root gives (`app.metrics`), never the global one.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge


@dataclass(frozen=True)
class RuleMetrics:
    loaded: Gauge
    last_reload_success: Gauge
    last_reload_timestamp: Gauge

    @classmethod
    def create(cls, *, registry: CollectorRegistry) -> RuleMetrics:
        return cls(
            loaded=Gauge("remediator_rules_loaded", "Rules in force.", registry=registry),
            last_reload_success=Gauge(
                "remediator_rules_last_reload_success",
                "1 if the last rule (re)load succeeded.", registry=registry),
            last_reload_timestamp=Gauge(
                "remediator_rules_last_reload_timestamp_seconds",
                "When rules were last (re)loaded successfully.", registry=registry),
        )
