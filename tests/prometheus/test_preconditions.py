"""PromQL preconditions against a real Prometheus, including the example rule of
rules/workloads.yml ("don't restart pods when the error rate is service-wide")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from remediator.clients.prometheus import PrometheusConfig, PrometheusExecutor
from remediator.diagnosis import Hint
from remediator.execute.preconditions import expr_verdict, hint_verdict
from remediator.model.alerts import Alert
from remediator.rules.model import Rule, load_rules
from tests.support import promstack

ROOT = Path(__file__).resolve().parents[2]


def rule(**keys: object) -> Rule:
    return Rule.model_validate({
        "name": "r", "matchers": ['alertname="X"'],
        "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
                   "name": "{{ labels.pod }}"}, **keys})


def alert(**labels: str) -> Alert:
    return Alert(status="firing", starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                 labels={"alertname": "KubePodCrashLooping", **labels})


@pytest.fixture(scope="module")
def stack(exporter: promstack.TestExporter,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[promstack.Prometheus]:
    if promstack.prometheus_binary() is None:
        pytest.skip("prometheus binary not installed")
    rules = promstack.fast_rules([ROOT / "alerts" / "workloads.yml"],
                                 tmp_path_factory.mktemp("rules"), alerts=())
    with promstack.run_prometheus(rule_files=rules,
                                  targets={"test": [exporter.address]}) as running:
        yield running


@pytest.fixture
async def prometheus(stack: promstack.Prometheus) -> PrometheusExecutor:
    executor = PrometheusExecutor.connect(PrometheusConfig(url=stack.url))
    yield executor  # type: ignore[misc]
    executor.close()


pytestmark = pytest.mark.e2e


async def test_only_if_needs_a_series_and_unless_needs_none(
        prometheus: PrometheusExecutor) -> None:
    notes: list[dict[str, object]] = []
    passing = rule(only_if={"expr": 'vector(1) and on() label_replace(vector(1), "pod", '
                                    '"{{ labels.pod }}", "", "")'})
    assert await expr_verdict(passing, alert(pod="web-1"), prometheus, notes) is None
    assert notes[0]["query"] == ('vector(1) and on() label_replace(vector(1), "pod", '
                                 '"web-1", "", "")')
    assert notes[0]["series"] == 1

    failing = rule(only_if={"expr": "vector(1) == 2"})
    verdict = await expr_verdict(failing, alert(), prometheus, [])
    assert verdict is not None
    assert verdict.reason == "only_if.expr returned no series: vector(1) == 2"
    assert verdict.detail["result"] == []

    held = rule(unless={"expr": 'label_replace(vector(0.42), "job", "api", "", "")'})
    verdict = await expr_verdict(held, alert(), prometheus, [])
    assert verdict is not None
    assert verdict.reason.startswith("unless.expr returned 1 series")
    assert verdict.detail["result"] == [{"labels": {"job": "api"}, "value": 0.42}]


async def test_labels_are_escaped_for_promql(prometheus: PrometheusExecutor) -> None:
    """A label value cannot end the string and widen the query."""
    evil = 'x"} or vector(1) or up{a="'
    guarded = rule(unless={"expr": 'up{pod="{{ labels.pod }}"}'})
    notes: list[dict[str, object]] = []
    assert await expr_verdict(guarded, alert(pod=evil), prometheus, notes) is None
    assert notes[0]["series"] == 0


@pytest.mark.parametrize(("on_error", "acts"), [
    pytest.param("skip", False, id="fail-closed-by-default"),
    pytest.param("act", True, id="act-anyway"),
])
async def test_unreachable_prometheus_follows_on_error(stalled_url: str, on_error: str,
                                                       acts: bool) -> None:
    executor = PrometheusExecutor.connect(PrometheusConfig(url=stalled_url, read_timeout=0.2,
                                                           connect_timeout=0.2))
    notes: list[dict[str, object]] = []
    verdict = await expr_verdict(rule(only_if={"expr": "up", "on_error": on_error}), alert(),
                                 executor, notes)
    executor.close()
    assert (verdict is None) is acts
    if verdict is not None:
        assert verdict.reason == "only_if.expr not evaluated: timed out (ReadTimeout); " \
                                 "on_error: skip"
    else:
        assert notes[0]["error"] == "timed out (ReadTimeout)"


async def test_no_prometheus_and_a_missing_label_are_not_evaluated() -> None:
    verdict = await expr_verdict(rule(unless={"expr": "up"}), alert(), None, [])
    assert verdict is not None and "no Prometheus configured" in verdict.reason
    verdict = await expr_verdict(rule(unless={"expr": 'up{pod="{{ labels.pod }}"}'}),
                                 alert(), None, [])
    assert verdict is not None and "a label it uses is missing" in verdict.reason


def test_hint_verdicts() -> None:
    rollout = Hint("recent_rollout", "rolled out 1m before", {})
    assert hint_verdict(rule(when={"hints": ["recent_rollout"]}), [rollout]) is None
    missing = hint_verdict(rule(when={"hints": ["recent_rollout", "oom_killed"]}), [rollout])
    assert missing is not None and missing.reason == "when.hints: oom_killed did not apply"
    held = hint_verdict(rule(unless={"hints": ["recent_rollout"]}), [rollout])
    assert held is not None
    assert held.reason == "unless.hints: recent_rollout applies (rolled out 1m before)"
    assert hint_verdict(rule(unless={"hints": ["node_not_ready"]}), [rollout]) is None


def _serve(exporter: promstack.TestExporter, pod: str, ok: float, errors: float) -> None:
    exporter.inc("http_requests_total", ok, namespace="apps-shop", pod=pod, code="200")
    exporter.inc("http_requests_total", errors, namespace="apps-shop", pod=pod, code="500")


def _owned(exporter: promstack.TestExporter, pod: str) -> None:
    exporter.set("kube_pod_owner", 1, namespace="apps-shop", pod=pod,
                 owner_kind="ReplicaSet", owner_name="cart-5d9f")
    exporter.set("kube_replicaset_owner", 1, namespace="apps-shop", replicaset="cart-5d9f",
                 owner_kind="Deployment", owner_name="cart")


async def test_example_rule_holds_restarts_when_errors_are_service_wide(
        exporter: promstack.TestExporter, stack: promstack.Prometheus,
        prometheus: PrometheusExecutor) -> None:
    restart = load_rules([ROOT / "rules" / "workloads.yml"]).by_name("restart-crashlooping-pod")
    assert restart is not None and restart.unless is not None
    crashing = alert(namespace="apps-shop", pod="cart-1", deployment="cart")
    for pod in ("cart-1", "cart-2", "cart-3"):
        _owned(exporter, pod)

    def traffic(siblings_erroring: bool) -> None:
        _serve(exporter, "cart-1", 10, 10)  # the crash-looping pod always fails
        for sibling in ("cart-2", "cart-3"):
            _serve(exporter, sibling, 10, 5 if siblings_erroring else 0)

    def evaluated(expected: bool) -> bool:
        # More traffic each poll, so rate() sees an increase between scrapes.
        traffic(siblings_erroring=expected)
        query = restart.unless.expr.render(  # type: ignore[union-attr]
            {k: v for k, v in crashing.labels.items()}, {})
        return bool(stack.query(query)) is expected

    await asyncio.to_thread(promstack.wait_until, lambda: evaluated(False), timeout=30,
                            what="only cart-1 failing")
    assert await expr_verdict(restart, crashing, prometheus, []) is None  # restart it

    await asyncio.to_thread(promstack.wait_until, lambda: evaluated(True), timeout=30,
                            what="cart-2 and cart-3 failing too")
    verdict = await expr_verdict(restart, crashing, prometheus, [])
    assert verdict is not None  # hold: the whole service errs
    assert verdict.reason.startswith("unless.expr returned 1 series")
    assert 'pod!="cart-1"' in verdict.detail["query"]
