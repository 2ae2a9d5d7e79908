"""alerts/: the catalogue, the annotations every alert owes on-call, promtool, Alertmanager."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.observability.catalog import (
    ALERT_NAMES,
    ALERT_TESTS,
    ALERTMANAGER_EXAMPLE,
    ALERTS_DIR,
    REMEDIATIONS,
    RULE_FILES,
    RUNBOOK_URL,
    SEVERITIES,
    alert_rules,
    exported_names,
    remediation_rules,
    remediator_metrics_in,
    service_exposition,
)

RULES = {rule["alert"]: rule for rule in alert_rules()}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/setup test")
    return path


def _seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(duration[:-1]) * units[duration[-1]]


def test_alert_names_are_the_agreed_catalogue() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "an alert name is defined twice"
    assert set(names) == ALERT_NAMES


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_alert_has_severity_summary_description_runbook(name: str) -> None:
    rule = RULES[name]
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    assert annotations["runbook_url"] == RUNBOOK_URL % name


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_alert_names_the_rule_that_answers_it(name: str) -> None:
    assert RULES[name]["annotations"].get("remediation") == REMEDIATIONS.get(name)


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_alert_waits_before_firing(name: str) -> None:
    assert _seconds(RULES[name]["for"]) > 0


@pytest.mark.parametrize("alert", sorted(REMEDIATIONS))
def test_remediation_annotation_names_a_rule_in_rules_dir(alert: str) -> None:
    rules = remediation_rules()
    rule = REMEDIATIONS[alert]
    assert rule in rules, f"annotation names {rule!r}, which is not in rules/"
    assert alert in rules[rule], f"rule {rule} does not match alertname={alert}"


def test_every_rule_in_rules_dir_is_named_by_its_alert() -> None:
    for rule, alerts in remediation_rules().items():
        for alert in alerts & ALERT_NAMES:
            assert RULES[alert]["annotations"].get("remediation") == rule, (
                f"{alert} is answered by {rule} but its remediation annotation says "
                f"{RULES[alert]['annotations'].get('remediation')!r}")


def test_alert_expressions_use_metrics_the_service_exports() -> None:
    exported = exported_names(service_exposition())
    used = set().union(*(remediator_metrics_in(rule["expr"]) for rule in RULES.values()))
    assert used, "the remediator alerts query no remediator_ metric"
    assert used <= exported, f"not exported by the service: {sorted(used - exported)}"


def _alert_cases() -> dict[str, list[tuple[int, int, bool]]]:
    """Alert name -> (eval_time, group interval, fires?) for every promtool case."""
    cases: dict[str, list[tuple[int, int, bool]]] = {}
    for path in ALERT_TESTS:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        default = document.get("evaluation_interval", "1m")
        for group in document["tests"]:
            interval = _seconds(group.get("interval", default))
            for case in group.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(
                    (_seconds(case["eval_time"]), interval, bool(case.get("exp_alerts"))))
    return cases


@pytest.mark.parametrize("name", sorted(ALERT_NAMES))
def test_every_alert_has_a_firing_case_and_a_case_just_before(name: str) -> None:
    cases = _alert_cases().get(name, [])
    fires = {t for t, _, firing in cases if firing}
    quiet_before = {t + interval for t, interval, firing in cases if not firing}
    assert fires & quiet_before, (
        f"{name}: needs a case that fires at T and a case with no alert at T - interval")


def _exp_alerts(case: dict[str, Any]) -> list[dict[str, Any]]:
    return list(case.get("exp_alerts") or [])


@pytest.mark.parametrize("path", ALERT_TESTS, ids=lambda p: p.name)
def test_firing_cases_state_labels_and_all_annotations(path: Any) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in document["tests"]:
        for case in group.get("alert_rule_test", []):
            for expected in _exp_alerts(case):
                rule = RULES[case["alertname"]]
                assert expected["exp_labels"]["severity"] == rule["labels"]["severity"]
                assert set(expected["exp_annotations"]) == set(rule["annotations"])


@pytest.mark.e2e
def test_promtool_check_rules() -> None:
    result = subprocess.run([_tool("promtool"), "check", "rules", *map(str, RULE_FILES)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout + result.stderr


@pytest.mark.e2e
def test_promtool_unit_tests_pass() -> None:
    result = subprocess.run([_tool("promtool"), "test", "rules", *map(str, ALERT_TESTS)],
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=ALERTS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def _example() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_EXAMPLE.read_text(encoding="utf-8"))
    return config


def test_alertmanager_example_posts_to_the_remediator_with_a_bearer_token() -> None:
    config = _example()
    [receiver] = [r for r in config["receivers"] if r["name"] == "remediator"]
    [webhook] = receiver["webhook_configs"]
    assert webhook["url"] == "http://127.0.0.1:9095/webhook/alertmanager"
    assert webhook["send_resolved"] is True
    assert isinstance(webhook["max_alerts"], int)
    authorization = webhook["http_config"]["authorization"]
    assert authorization["type"] == "Bearer"
    assert authorization["credentials_file"].startswith("/")
    assert "credentials" not in authorization, "a token must not live in the config file"
    [route] = [r for r in config["route"]["routes"] if r["receiver"] == "remediator"]
    assert {"alertname", "namespace", "pod", "node"} <= set(route["group_by"])


@pytest.mark.e2e
def test_alertmanager_example_is_valid() -> None:
    result = subprocess.run([_tool("amtool"), "check-config", str(ALERTMANAGER_EXAMPLE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.e2e
@pytest.mark.parametrize("labels", [
    ["alertname=KubePodCrashLooping", "namespace=apps-shop", "pod=web-0", "severity=warning"],
    ["alertname=RemediatorDown", "job=remediator", "severity=critical"],
], ids=["workload", "remediator"])
def test_alertmanager_example_routes_alerts_to_remediator_and_oncall(labels: list[str]) -> None:
    result = subprocess.run(
        [_tool("amtool"), "config", "routes", "test",
         f"--config.file={ALERTMANAGER_EXAMPLE}", *labels],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "remediator,oncall"
