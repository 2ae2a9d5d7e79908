"""The right-sizing report against real parts: Prometheus scraping the test
exporter (cAdvisor's series) and kmock's Kubernetes emulator (pods and
Deployments) through the official client. Nothing is patched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.client import api_client, close_api_client
from remediator.model.validation import InvalidTarget
from remediator.report.prometheus import Connection, PrometheusError, query_range
from remediator.report.rightsizing import MIB
from remediator.report.service import rightsizing
from tests.support.promstack import (
    Prometheus,
    TestExporter,
    prometheus_binary,
    run_exporter,
    run_prometheus,
)

pytestmark = pytest.mark.e2e

NAMESPACE = "apps-shop"
CPU = "container_cpu_usage_seconds_total"
MEMORY = "container_memory_working_set_bytes"
# pod -> (container, CPU cores, memory bytes); web-5b8f9d7c4-zz9q2 was web's pod
# before the last rollout: only Prometheus remembers it.
USAGE = {
    "web-6d4cf56db6-x7k2p": ("web", 0.1, 400 * MIB),
    "web-5b8f9d7c4-zz9q2": ("web", 0.1, 400 * MIB),
    "api-7c9d8b7f6-q2w3e": ("api", 0.25, 300 * MIB),
}


@pytest.fixture(scope="module")
def exporter() -> Iterator[TestExporter]:
    with run_exporter() as served:
        yield served


@pytest.fixture(scope="module")
def prometheus(exporter: TestExporter) -> Iterator[Prometheus]:
    if prometheus_binary() is None:
        pytest.fail("Prometheus is not installed: run scripts/setup test")
    with run_prometheus(targets={"cadvisor": [exporter.address]}, external_labels={}) as prom:
        yield prom


@contextlib.contextmanager
def cadvisor(exporter: TestExporter) -> Iterator[None]:
    """Counters that grow at each container's CPU rate, as cAdvisor's do."""
    started = time.monotonic()
    stop = threading.Event()

    def tick() -> None:
        while True:
            elapsed = time.monotonic() - started
            for pod, (container, cores, memory) in USAGE.items():
                labels = {"namespace": NAMESPACE, "pod": pod, "container": container}
                exporter.set(CPU, cores * elapsed, **labels)
                exporter.set(MEMORY, memory, **labels)
            if stop.wait(0.05):
                return

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def deployment(name: str, resources: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": name, "image": "x:1",
                                         "resources": resources}]}}}}


def pod(name: str, owner: str | None, template_hash: str = "") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": NAMESPACE, "labels": {}}
    container = name.split("-")[0]
    if owner:
        metadata["labels"]["pod-template-hash"] = template_hash
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                        "name": owner, "uid": "u", "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {"containers": [{"name": container, "image": "x:1"}]}}


@pytest.fixture
def client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    built = api_client(Configuration(host=str(kmock.url).rstrip("/")))
    yield built
    close_api_client(built)


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator) -> kmock.KubernetesEmulator:
    objects = [
        deployment("web", {"requests": {"cpu": "1", "memory": "1Gi"},
                           "limits": {"memory": "2Gi"}}),
        deployment("api", {"requests": {"cpu": "100m", "memory": "256Mi"},
                           "limits": {"memory": "320Mi"}}),
        pod("web-6d4cf56db6-x7k2p", "web-6d4cf56db6", "6d4cf56db6"),
        pod("api-7c9d8b7f6-q2w3e", "api-7c9d8b7f6", "7c9d8b7f6"),
        pod("debug", None),
    ]
    for obj in objects:
        resource = "v1/pods" if obj["kind"] == "Pod" else "apps/v1/deployments"
        kmock.objects[resource, NAMESPACE, obj["metadata"]["name"]] = obj
    return kmock


def wait_for_history(prometheus: Prometheus, seconds: int) -> None:
    """Until every pod's CPU counter has `seconds` of samples (1 s scrapes)."""
    prometheus.wait_for_query(
        f"count(count_over_time({CPU}{{namespace={NAMESPACE!r}}}[{seconds + 6}s]) "
        f">= {seconds}) == {len(USAGE)}".replace("'", '"'), timeout=seconds + 30)


async def test_report_compares_p95_usage_with_requests_and_limits(
        cluster: kmock.KubernetesEmulator, client: ApiClient, exporter: TestExporter,
        prometheus: Prometheus) -> None:
    with cadvisor(exporter):
        await asyncio.to_thread(wait_for_history, prometheus, 20)
        report = await asyncio.to_thread(
            rightsizing, client, prometheus.url, NAMESPACE, window=timedelta(seconds=12),
            end=datetime.now(UTC), rate_window=timedelta(seconds=5), timeout=5)

    found = {(r.workload, r.resource): r for r in report.recommendations}
    assert set(found) == {(w, r) for w in ("deployment/web", "deployment/api", "pod/debug")
                          for r in ("cpu", "memory")}
    web_cpu, web_memory = found["deployment/web", "cpu"], found["deployment/web", "memory"]
    assert (web_cpu.verdict, web_memory.verdict) == ("over", "over")
    assert web_cpu.usage == pytest.approx(0.1, abs=0.02)
    assert web_cpu.suggested_request == pytest.approx(0.12, abs=0.03)
    assert web_memory.usage == 400 * MIB
    assert web_memory.suggested_request == 500 * MIB
    # The deleted pod's series count for its Deployment: two pods' samples.
    assert web_memory.samples == 2 * found["deployment/api", "memory"].samples > 0

    api_cpu, api_memory = found["deployment/api", "cpu"], found["deployment/api", "memory"]
    assert api_cpu.verdict == "under"
    assert api_cpu.usage == pytest.approx(0.25, abs=0.03)
    assert api_memory.verdict == "limit"
    assert api_memory.suggested_limit == 417 * MIB   # 300Mi / 0.9, plus 25%
    assert api_memory.suggested_request == 375 * MIB
    assert {found["pod/debug", r].verdict for r in ("cpu", "memory")} == {"no_data"}

    # Read-only: the report listed, and never wrote.
    assert {request.method for request in cluster} == {"GET"}
    assert report.to_json()["summary"] == {"over": 2, "under": 1, "limit": 1, "no_data": 2}


async def test_a_bad_namespace_is_refused_before_any_request(
        kmock: kmock.KubernetesEmulator, client: ApiClient) -> None:
    with pytest.raises(InvalidTarget, match="RFC 1123"):
        await asyncio.to_thread(rightsizing, client, "http://127.0.0.1:1", 'a"}) or vector(1',
                                window=timedelta(days=7), end=datetime.now(UTC))
    assert list(kmock) == []


def test_prometheus_errors_are_one_line(prometheus: Prometheus) -> None:
    now = datetime.now(UTC)
    with pytest.raises(PrometheusError, match=r"refused 'rate\(up\[': HTTP 400: .*parse"):
        query_range(Connection(url=prometheus.url), "rate(up[", start=now - timedelta(minutes=1),
                    end=now, step=timedelta(seconds=1))
    with pytest.raises(PrometheusError, match="could not be asked for 'up': ConnectionError"):
        query_range(Connection(url="http://127.0.0.1:1", timeout=2), "up",
                    start=now - timedelta(minutes=1), end=now, step=timedelta(seconds=1))


def kubeconfig(path: Any, url: str) -> str:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: kmock\n"
        f"clusters: [{{name: kmock, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: u, user: {token: t0ken}}]\n"
        "contexts: [{name: kmock, context: {cluster: kmock, user: u}}]\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
async def test_the_cli_prints_the_report(
        cluster: kmock.KubernetesEmulator, exporter: TestExporter, prometheus: Prometheus,
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    import json

    from typer.testing import CliRunner

    from remediator.cli import app

    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path / "kubeconfig",
                                                str(cluster.url).rstrip("/")))
    with cadvisor(exporter):
        await asyncio.to_thread(wait_for_history, prometheus, 3)
    args = ["report", "rightsizing", "--namespace", NAMESPACE, "--prometheus-url",
            prometheus.url, "--window", "1m", *(["--json"] if as_json else [])]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)

    assert result.exit_code == 0, result.output
    if as_json:
        body = json.loads(result.stdout)
        assert (body["namespace"], body["window"]) == (NAMESPACE, "1m")
        assert {r["workload"] for r in body["recommendations"]} == {
            "deployment/web", "deployment/api", "pod/debug"}
    else:
        text = " ".join(result.stdout.split())  # the terminal wraps the title
        assert "Right-sizing for apps-shop" in text
        assert "nothing is changed" in text
        assert "6 container resources" in text
    assert {request.method for request in cluster} == {"GET"}


async def test_the_cli_names_a_refused_list(cluster: kmock.KubernetesEmulator, tmp_path: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """RBAC without `list deployments`: a one-line error, the status only (no headers)."""
    from typer.testing import CliRunner

    from remediator.cli import app

    cluster["list", cluster.resource("apps/v1/deployments")] << 403 << {
        "apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 403,
        "message": "forbidden by RBAC"}
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path / "kubeconfig",
                                                str(cluster.url).rstrip("/")))
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["report", "rightsizing", "--namespace", NAMESPACE,
                                  "--prometheus-url", "http://127.0.0.1:1"])

    assert result.exit_code == 2
    assert ("Kubernetes refused to list pods/deployments in apps-shop: HTTP 403"
            in " ".join(result.stderr.split()))
    assert "t0ken" not in result.output and "Traceback" not in result.output
