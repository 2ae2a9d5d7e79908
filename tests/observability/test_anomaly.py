"""alerts/anomaly.yml: the baseline families are complete, alerts and the dashboard
read only series the file records, and the rules work in a real Prometheus."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
import yaml

from tests.observability.catalog import ALERTS_DIR, RUNBOOK_BASE, dashboards
from tests.support.promstack import Prometheus, TestExporter, WebhookSink

SIGNALS = {
    "namespace_service:http_error_ratio": "rate5m",
    "namespace_service:http_request_duration_seconds": "p99_5m",
    "namespace:kube_pod_container_restarts": "rate15m",
}
WINDOWS = ("1h", "1d", "1w_seasonal")
_RECORDED = re.compile(r"\bnamespace(?:_service)?:[a-z_]+:[a-z0-9_]+\b")


def _rules() -> list[dict[str, str]]:
    document = yaml.safe_load((ALERTS_DIR / "anomaly.yml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


RECORDS = [rule["record"] for rule in _rules() if "record" in rule]


@pytest.mark.parametrize("signal", sorted(SIGNALS))
def test_each_signal_has_mean_deviation_and_zscore_for_every_window(signal: str) -> None:
    wanted = {f"{signal}:{SIGNALS[signal]}"} | {
        f"{signal}:{stat}_{window}" for stat in ("avg", "stddev", "zscore") for window in WINDOWS}
    assert wanted <= set(RECORDS)


def test_rules_read_only_series_recorded_above_them() -> None:
    seen: set[str] = set()
    for rule in _rules():
        used = set(_RECORDED.findall(rule["expr"]))
        assert used <= seen, f"{rule.get('record') or rule.get('alert')} reads {used - seen} " \
                             "before it is recorded (one group: rules run in order)"
        if "record" in rule:
            seen.add(rule["record"])


def test_the_anomaly_dashboard_reads_recorded_series() -> None:
    board = dashboards()["anomalies.json"]
    used = {name for panel in board["panels"] for target in panel["targets"]
            for name in _RECORDED.findall(target["expr"])}
    assert used, "the dashboard shows no baseline"
    assert used <= set(RECORDS)
    assert {f"{signal}:zscore_{window}" for signal in SIGNALS for window in WINDOWS} <= used


@pytest.fixture
def traffic(exporter: TestExporter) -> Iterator[threading.Event]:
    """A service answering 20 requests a second; set the event to make them all fail."""
    labels = {"namespace": "apps-e2e", "service": "anomalous"}
    failing, stop = threading.Event(), threading.Event()

    def run() -> None:
        ok = errors = 0.0
        while not stop.wait(0.05):
            ok += 0.0 if failing.is_set() else 1.0
            errors += 1.0 if failing.is_set() else 0.0
            exporter.set("http_requests_total", ok, code="200", **labels)
            exporter.set("http_requests_total", errors, code="500", **labels)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield failing
    finally:
        stop.set()
        thread.join()
        for code in ("200", "500"):
            exporter.remove("http_requests_total", code=code, **labels)


@pytest.mark.e2e
def test_a_new_error_ratio_fires_error_ratio_anomaly_through_alertmanager(
        traffic: threading.Event, prometheus: Prometheus, webhook_sink: WebhookSink) -> None:
    labels = {"namespace": "apps-e2e", "service": "anomalous"}
    # Half a minute without errors: a baseline for the jump to stand out against
    # (the 5m rate still ramps up; against 30 flat samples the first ones are > 3).
    prometheus.wait_for_query(
        'count_over_time(namespace_service:http_error_ratio:zscore_1h{service="anomalous"}[1m])'
        " >= 30 and namespace_service:http_error_ratio:zscore_1h == 0", timeout=90)
    assert not prometheus.query('ALERTS{alertname="ErrorRatioAnomaly", service="anomalous"}')
    traffic.set()
    started = time.monotonic()
    _, alert = webhook_sink.wait_for_alert("ErrorRatioAnomaly", labels=labels, timeout=60)
    print(f"\nerrors start -> ErrorRatioAnomaly webhook {time.monotonic() - started:.1f}s")
    assert alert["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}/runbooks/ErrorRatioAnomaly.md"
    # No week of history: the seasonal baseline is absent, so it cannot hold the alert back.
    assert not prometheus.query(
        'namespace_service:http_error_ratio:zscore_1w_seasonal{service="anomalous"}')
