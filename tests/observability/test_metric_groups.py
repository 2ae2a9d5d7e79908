"""Each component's metric group: built on the registry it is given, never the global
one, and a metric two components update exists once (its owner's, handed to the other)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from remediator.app.metrics import Metrics
from remediator.web.metrics import WebMetrics


def _remediator_families(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()
            if family.name.startswith("remediator_")}


def test_groups_register_only_on_the_given_registry() -> None:
    global_before = _remediator_families(REGISTRY)
    first, second = Metrics.create(), Metrics.create()  # no duplicate-name clash: no globals
    WebMetrics.of(first)
    WebMetrics.of(second)
    assert _remediator_families(REGISTRY) == global_before == set()
    assert _remediator_families(first.registry) == _remediator_families(second.registry)


def test_a_given_registry_is_the_one_used() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    assert metrics.registry is registry
    assert "remediator_decisions_total" in generate_latest(registry).decode()


def test_the_worker_counts_decisions_on_the_intakes_counter() -> None:
    metrics = Metrics.create()
    assert metrics.worker.decisions is metrics.intake.decisions
    metrics.worker.decisions.labels(rule="restart", outcome="executed").inc()
    metrics.intake.decisions.labels(rule="restart", outcome="executed").inc()
    assert metrics.registry.get_sample_value(
        "remediator_decisions_total", {"rule": "restart", "outcome": "executed"}) == 2


def test_the_console_counts_answers_on_operates_approvals_counter() -> None:
    metrics = Metrics.create()
    web = WebMetrics.of(metrics)
    assert web.approvals is metrics.approvals.approvals

