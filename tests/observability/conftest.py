"""A real Prometheus + Alertmanager stack for the observability tests (session scope).

Prometheus evaluates copies of alerts/*.yml whose `for:` is 1s, scrapes two
test exporters (jobs `test` and `flaky`) and alerts to an Alertmanager that
posts to a recording webhook sink with a bearer token.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.observability.catalog import RULE_FILES, RUNBOOK_BASE, WEBHOOK_TOKEN
from tests.support.promstack import (
    Alertmanager,
    Prometheus,
    TestExporter,
    WebhookSink,
    alertmanager_binary,
    fast_rules,
    prometheus_binary,
    run_alertmanager,
    run_exporter,
    run_prometheus,
    run_webhook_sink,
)


@pytest.fixture(scope="session")
def exporter() -> Iterator[TestExporter]:
    with run_exporter() as served:
        yield served


@pytest.fixture(scope="session")
def flaky_exporter() -> Iterator[TestExporter]:
    with run_exporter() as served:
        yield served


@pytest.fixture(scope="session")
def webhook_sink() -> Iterator[WebhookSink]:
    with run_webhook_sink(token=WEBHOOK_TOKEN) as sink:
        yield sink


@pytest.fixture(scope="session")
def alertmanager(webhook_sink: WebhookSink) -> Iterator[Alertmanager]:
    if alertmanager_binary() is None:
        pytest.fail("Alertmanager is not installed: run scripts/setup test")
    with run_alertmanager(webhook_url=webhook_sink.url, bearer_token=WEBHOOK_TOKEN) as am:
        yield am


@pytest.fixture(scope="session")
def prometheus(exporter: TestExporter, flaky_exporter: TestExporter,
               alertmanager: Alertmanager,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    if prometheus_binary() is None:
        pytest.fail("Prometheus is not installed: run scripts/setup test")
    rules = fast_rules(list(RULE_FILES), tmp_path_factory.mktemp("fast-rules"))
    with run_prometheus(rule_files=rules,
                        targets={"test": [exporter.address], "flaky": [flaky_exporter.address]},
                        alertmanager_url=alertmanager.url,
                        external_labels={"runbook_base_url": RUNBOOK_BASE}) as prom:
        yield prom
