"""From cluster objects to workloads and allocations; the PromQL the report asks."""

from __future__ import annotations

from typing import Any

import pytest

from remediator.report.rightsizing import MIB, Allocation
from remediator.report.sources import inventory, quantity, step_for, usage_queries, workload_of


def pod(name: str, *, owner: tuple[str, str] | None = None, template_hash: str = "",
        resources: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {}}
    if owner:
        metadata["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    if template_hash:
        metadata["labels"]["pod-template-hash"] = template_hash
    return {"metadata": metadata,
            "spec": {"containers": [{"name": "app", "resources": resources or {}}]}}


@pytest.mark.parametrize(("given", "workload"), [
    pytest.param(pod("web-6d4cf56db6-x7k2p", owner=("ReplicaSet", "web-6d4cf56db6"),
                     template_hash="6d4cf56db6"), "deployment/web", id="deployment"),
    pytest.param(pod("web-api-7c9d8b7f6-abcde", owner=("ReplicaSet", "web-api-7c9d8b7f6"),
                     template_hash="7c9d8b7f6"), "deployment/web-api", id="dashed-name"),
    pytest.param(pod("orphan-x", owner=("ReplicaSet", "orphan")), "replicaset/orphan",
                 id="bare-replicaset"),
    pytest.param(pod("db-0", owner=("StatefulSet", "db")), "statefulset/db", id="statefulset"),
    pytest.param(pod("debug"), "pod/debug", id="no-owner"),
])
def test_pods_belong_to_their_workload(given: dict[str, Any], workload: str) -> None:
    assert workload_of(given) == workload


def test_a_deployment_template_wins_over_its_pods() -> None:
    old = pod("web-6d4cf56db6-x7k2p", owner=("ReplicaSet", "web-6d4cf56db6"),
              template_hash="6d4cf56db6",
              resources={"requests": {"cpu": "100m", "memory": "128Mi"}})
    deployment = {"metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [
        {"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "1Gi"},
                                      "limits": {"memory": "2Gi"}}}]}}}}
    found = inventory([old, pod("debug", resources={"limits": {"cpu": "1"}})], [deployment])
    assert found.allocations[("deployment/web", "app")] == {
        "cpu": Allocation(request=0.25, limit=None),
        "memory": Allocation(request=1024 * MIB, limit=2048 * MIB)}
    assert found.allocations[("pod/debug", "app")]["cpu"] == Allocation(request=None, limit=1)
    assert found.pods == {"web-6d4cf56db6-x7k2p": "deployment/web", "debug": "pod/debug"}


@pytest.mark.parametrize(("name", "workload"), [
    ("web-6d4cf56db6-x7k2p", "deployment/web"),        # listed
    ("web-5b8f9d7c4-zz9q2", "deployment/web"),         # an older ReplicaSet's pod, gone
    ("web-api-7c9d8b7f6-bcdfg", "deployment/web-api"),  # the longer name wins
    ("web-0", "pod/web-0"),                            # not a Deployment's pod name
    ("web-6d4cf56db6-XXXXX", "pod/web-6d4cf56db6-XXXXX"),
])
def test_usage_of_deleted_pods_counts_for_their_deployment(name: str, workload: str) -> None:
    listed = pod("web-6d4cf56db6-x7k2p", owner=("ReplicaSet", "web-6d4cf56db6"),
                 template_hash="6d4cf56db6")
    found = inventory([listed], [{"metadata": {"name": "web"}},
                                 {"metadata": {"name": "web-api"}}])
    assert found.workload(name) == workload


@pytest.mark.parametrize(("text", "value"), [
    ("250m", 0.25), ("2", 2.0), ("1Gi", 1024 * MIB), ("500M", 500e6), (None, None),
    ("lots", None),
])
def test_quantities(text: str | None, value: float | None) -> None:
    assert quantity(text) == value


def test_queries_select_the_namespace_as_an_escaped_string() -> None:
    queries = usage_queries("apps-shop")
    assert 'namespace="apps-shop"' in queries["cpu"]
    assert "rate(container_cpu_usage_seconds_total{" in queries["cpu"]
    assert queries["memory"].startswith("max by (pod, container) "
                                        "(container_memory_working_set_bytes{")
    assert usage_queries('a"b')["cpu"].count('"a\\"b"') == 1


@pytest.mark.parametrize(("seconds", "step"), [(7 * 86400, 605), (3600, 4), (30, 1)])
def test_steps_give_about_a_thousand_points(seconds: int, step: int) -> None:
    from datetime import timedelta

    assert step_for(timedelta(seconds=seconds)) == timedelta(seconds=step)
