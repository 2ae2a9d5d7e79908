"""tests/support/promstack.py: the helpers, and the real pipeline they build.

exporter -> Prometheus (alerts/*.yml, `for:` 1s) -> Alertmanager -> webhook with
a bearer token, firing and resolved, with the runbook URL built from the
external label.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.observability.catalog import RULE_FILES, RUNBOOK_BASE, WEBHOOK_TOKEN
from tests.support.promstack import (
    Prometheus,
    TestExporter,
    WebhookSink,
    alertmanager_config,
    fast_rules,
    query_ok,
    run_exporter,
    run_webhook_sink,
    wait_until,
)


def test_exporter_serves_what_the_test_sets() -> None:
    with run_exporter() as exporter:
        exporter.set("kube_pod_owner", 1, namespace="a", pod='we"ird\\pod', owner_kind="X")
        exporter.inc("requests_total", 2, code="500")
        exporter.inc("requests_total", 3, code="500")
        exporter.set("plain", float("nan"))
        exporter.set("gone", 1)
        exporter.remove("gone")
        text = httpx.get(exporter.url, timeout=5).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("kube_pod_owner", (("namespace", "a"), ("owner_kind", "X"),
                                       ("pod", 'we"ird\\pod')))] == 1
    assert samples[("requests_total", (("code", "500"),))] == 5
    assert ("plain", ()) in samples
    assert not any(name == "gone" for name, _ in samples)


def test_exporter_rejects_invalid_names() -> None:
    exporter = TestExporter()
    with pytest.raises(ValueError, match="metric name"):
        exporter.set("bad-name", 1)
    with pytest.raises(ValueError, match="label names"):
        exporter.set("ok", 1, **{"bad-label": "x"})


def test_exporter_can_fail_its_scrapes() -> None:
    with run_exporter() as exporter:
        exporter.set_status(503)
        assert httpx.get(exporter.url, timeout=5).status_code == 503
        exporter.set_status(200)
        assert httpx.get(exporter.url, timeout=5).status_code == 200


def test_webhook_sink_checks_the_bearer_token() -> None:
    payload = {"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "X"}}]}
    with run_webhook_sink(token="s3cret") as sink:
        wrong = httpx.post(sink.url, json=payload, headers={"Authorization": "Bearer nope"})
        right = httpx.post(sink.url, json=payload, headers={"Authorization": "Bearer s3cret"})
        assert (wrong.status_code, right.status_code) == (401, 200)
        delivery, alert = sink.wait_for_alert("X", timeout=5)
    assert len(sink.deliveries) == 1
    assert delivery.path == "/webhook/alertmanager"
    assert alert["labels"] == {"alertname": "X"}


def test_wait_until_is_bounded() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="never"):
        wait_until(lambda: None, timeout=0.3, interval=0.05, what="never")
    assert time.monotonic() - started < 2


def test_fast_rules_shortens_for_and_keeps_recording_rules(tmp_path: Path) -> None:
    copies = fast_rules(list(RULE_FILES), tmp_path, for_="2s",
                        alerts={"KubePodCrashLooping", "TargetDown"})
    rules = [rule for path in copies
             for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
             for rule in group["rules"]]
    assert sorted(r["alert"] for r in rules if "alert" in r) == ["KubePodCrashLooping",
                                                                  "TargetDown"]
    assert {r["for"] for r in rules if "alert" in r} == {"2s"}
    assert any("record" in r for r in rules)


@pytest.mark.e2e
def test_alertmanager_config_is_valid(tmp_path: Path) -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is not installed: run scripts/setup test")
    token = tmp_path / "token"
    token.write_text("t\n", encoding="utf-8")
    config = tmp_path / "am.yml"
    config.write_text(yaml.safe_dump(alertmanager_config(
        webhook_url="http://127.0.0.1:1/webhook", token_file=token, repeat_interval="5s")),
        encoding="utf-8")
    result = subprocess.run([amtool, "check-config", str(config)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e
def test_query_ok_tells_parse_errors(prometheus: Prometheus) -> None:
    assert query_ok(prometheus.url, 'sum by (job) (rate(up{job="test"}[1m]))')
    assert query_ok(prometheus.url, "metric_that_does_not_exist")
    assert not query_ok(prometheus.url, "rate(up[")
    assert not query_ok(prometheus.url, "rate(up[$__rate_interval])")


@pytest.mark.e2e
def test_alert_travels_from_exporter_to_webhook_and_resolves(
        exporter: TestExporter, prometheus: Prometheus, webhook_sink: WebhookSink) -> None:
    labels = {"node": "promstack-node-1"}
    prometheus.wait_for_query('up{job="test"} == 1')
    flipped = time.monotonic()
    exporter.set("kube_node_status_condition", 0, condition="Ready", status="true", **labels)
    try:
        delivery, alert = webhook_sink.wait_for_alert("KubeNodeNotReady", labels=labels)
        fired = time.monotonic()
    finally:
        exporter.remove("kube_node_status_condition", condition="Ready", status="true",
                        **labels)
    recovered = time.monotonic()
    _, resolved = webhook_sink.wait_for_alert("KubeNodeNotReady", status="resolved",
                                              labels=labels)
    done = time.monotonic()

    assert delivery.headers["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"
    assert delivery.body["version"] == "4"
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["runbook_url"] == f"{RUNBOOK_BASE}/runbooks/KubeNodeNotReady.md"
    assert alert["annotations"]["summary"] == "Node promstack-node-1 is not ready."
    assert resolved["fingerprint"] == alert["fingerprint"]
    # Fast settings: well under the 30s waits above (typically 2-4s each way).
    print(f"\nmetric flip -> firing webhook {fired - flipped:.1f}s; "
          f"recovery -> resolved webhook {done - recovered:.1f}s")


@pytest.mark.e2e
def test_failing_scrapes_fire_target_down(
        flaky_exporter: TestExporter, prometheus: Prometheus, webhook_sink: WebhookSink) -> None:
    prometheus.wait_for_query('up{job="flaky"} == 1')
    flaky_exporter.set_status(503)
    try:
        firing = prometheus.wait_for_alert("TargetDown", labels={"job": "flaky"})
        webhook_sink.wait_for_alert("TargetDown", labels={"job": "flaky"})
    finally:
        flaky_exporter.set_status(200)
    assert firing["labels"]["instance"] == flaky_exporter.address
    webhook_sink.wait_for_alert("TargetDown", status="resolved", labels={"job": "flaky"})
