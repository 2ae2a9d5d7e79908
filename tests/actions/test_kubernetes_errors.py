"""Failures of the API server and the network, as the real client sees them over HTTP.

The error class carries the retry policy: `TargetGone` (nothing to do),
`ActionError(transient=True)` (retry with backoff), else permanent.

Note: kmock's emulator applies a PATCH or DELETE to its stored objects even
when a test reaction answers the request with an error, so these tests assert
on the error raised, not on the stored state.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import close_api_client, kubernetes_actions
from remediator.actions.kubernetes.client import (
    MAX_RETRY_AFTER,
    RETRY_AFTER_JITTER,
    Deadline,
    Operation,
    api_client,
    bounded_retry_after,
    call,
)
from remediator.model.abc import Action
from remediator.model.actions import ActionError, ActionRequest, TargetGone

from .conftest import NAMESPACE, PODS, TOKEN, WORKLOADS, Cluster, hpa, pod, workload


def request(type_: str, kind: str, name: str = "web", timeout: float = 5.0,
            **params: Any) -> ActionRequest:
    return ActionRequest(type=type_, kind=kind, namespace=NAMESPACE, name=name,
                         params=params, timeout=timeout)


def status(code: int, message: str) -> dict[str, Any]:
    """A Kubernetes `Status` body, as the API server sends with every error."""
    return {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code,
            "message": message}


DELETE_POD = request("kubernetes.delete_pod", "pod", "web-1", grace_period_seconds=0)
RESTART = request("kubernetes.rollout_restart", "statefulset")
SCALE = request("kubernetes.scale", "deployment", step=1, min=1, max=5)
HPA_PATCH = request("kubernetes.hpa_patch", "hpa", step=1, ceiling=9, fields="max")
HPA_REVERT = request("kubernetes.hpa_revert", "hpa", min_replicas=2, max_replicas=5,
                     expect_min=2, expect_max=6)


@pytest.fixture(autouse=True)
def seeded(cluster: Cluster) -> None:
    cluster.add(pod("web-1"))
    cluster.add(workload("StatefulSet", "web"))
    cluster.add(workload("Deployment", "web"))
    cluster.add(hpa("web", 2, 6))


@pytest.mark.parametrize(("code", "headers", "error_class", "transient", "retry_after"), [
    pytest.param(404, {}, TargetGone, False, None, id="404-gone"),
    pytest.param(403, {}, ActionError, False, None, id="403-permanent"),
    pytest.param(409, {}, ActionError, True, None, id="409-conflict"),
    pytest.param(429, {"Retry-After": "7"}, ActionError, True, 7.0, id="429-retry-after"),
    pytest.param(500, {}, ActionError, True, None, id="500"),
    pytest.param(503, {"Retry-After": "2"}, ActionError, True, 2.0, id="503-retry-after"),
    pytest.param(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, ActionError, True,
                 None, id="503-retry-after-date-ignored"),
    pytest.param(401, {}, ActionError, False, None, id="401-permanent"),
    pytest.param(422, {}, ActionError, False, None, id="422-permanent"),
])
async def test_status_codes_map_to_the_retry_policy(
        kmock: kmock.KubernetesEmulator, actions: dict[str, Action], code: int,
        headers: dict[str, str], error_class: type[ActionError], transient: bool,
        retry_after: float | None) -> None:
    # A read: whatever the answer, nothing was changed, so the table is the whole policy.
    reaction = kmock["get", kmock.resource(WORKLOADS["deployment"])] << code << status(
        code, "injected")
    if headers:
        reaction << kmock.headers(headers)

    with pytest.raises(ActionError) as raised:
        await actions["kubernetes.scale"].run(SCALE)

    assert type(raised.value) is error_class
    assert raised.value.transient is transient
    if retry_after is None:
        assert raised.value.retry_after is None
    else:  # what the server asked, plus up to 20% jitter
        assert retry_after <= (raised.value.retry_after or 0) <= retry_after * 1.2
    assert raised.value.detail == {"status": code}
    assert raised.value.message.startswith("get deployments/scale apps-a/web: ")
    assert TOKEN not in str(raised.value)
    assert "Retry-After" not in str(raised.value)
    assert "Content-Type" not in str(raised.value)


@pytest.mark.parametrize(("code", "retried"), [
    pytest.param(500, False, id="500-may-have-applied"),
    pytest.param(503, False, id="503-may-have-applied"),
    pytest.param(504, False, id="504-may-have-applied"),
    pytest.param(409, True, id="409-refused"),
    pytest.param(429, True, id="429-refused"),
])
async def test_a_write_is_retried_only_when_the_server_refused_it(
        kmock: kmock.KubernetesEmulator, actions: dict[str, Action], code: int,
        retried: bool) -> None:
    kmock["delete", kmock.resource(PODS)] << code << status(code, "injected")

    with pytest.raises(ActionError) as raised:
        await actions["kubernetes.delete_pod"].run(DELETE_POD)

    assert raised.value.transient is retried
    assert raised.value.message.startswith("delete pods apps-a/web-1: ")
    assert ("not retried: it may have been applied" in raised.value.message) is not retried


@pytest.mark.parametrize("req", [
    pytest.param(request("kubernetes.delete_pod", "pod", "gone"), id="delete_pod"),
    pytest.param(request("kubernetes.rollout_restart", "daemonset", "gone"), id="restart"),
    pytest.param(request("kubernetes.scale", "statefulset", "gone", step=1, min=1, max=3),
                 id="scale"),
    pytest.param(request("kubernetes.hpa_patch", "hpa", "gone", step=1, ceiling=3),
                 id="hpa_patch"),
    pytest.param(request("kubernetes.hpa_revert", "hpa", "gone", min_replicas=1,
                         max_replicas=2, expect_min=1, expect_max=3), id="hpa_revert"),
])
async def test_a_missing_target_is_gone(actions: dict[str, Action], req: ActionRequest) -> None:
    with pytest.raises(TargetGone, match="not found"):
        await actions[req.type].run(req)


@pytest.mark.parametrize(("req", "method", "resource", "hint"), [
    pytest.param(DELETE_POD, "delete", PODS,
                 "grant 'delete' on 'pods' in namespace 'apps-a'", id="delete_pod"),
    pytest.param(RESTART, "patch", WORKLOADS["statefulset"],
                 "grant 'patch' on 'statefulsets' in namespace 'apps-a'", id="restart"),
    pytest.param(SCALE, "get", WORKLOADS["deployment"],
                 "grant 'get' on 'deployments/scale' in namespace 'apps-a'", id="scale-read"),
    pytest.param(SCALE, "patch", WORKLOADS["deployment"],
                 "grant 'patch' on 'deployments/scale' in namespace 'apps-a'", id="scale-patch"),
    pytest.param(HPA_PATCH, "get", "autoscaling/v2/horizontalpodautoscalers",
                 "grant 'get' on 'horizontalpodautoscalers' in namespace 'apps-a'",
                 id="hpa-read"),
    pytest.param(HPA_REVERT, "patch", "autoscaling/v2/horizontalpodautoscalers",
                 "grant 'patch' on 'horizontalpodautoscalers' in namespace 'apps-a'",
                 id="hpa-revert-patch"),
])
async def test_forbidden_names_the_missing_rbac_grant(
        kmock: kmock.KubernetesEmulator, actions: dict[str, Action], req: ActionRequest,
        method: str, resource: str, hint: str) -> None:
    kmock[method, kmock.resource(resource)] << 403 << status(403, "forbidden by RBAC")

    with pytest.raises(ActionError) as raised:
        await actions[req.type].run(req)

    assert not raised.value.transient
    assert f"forbidden: {hint} to the remediator's ServiceAccount" in raised.value.message


@pytest.mark.parametrize(("req", "method", "resource", "retried"), [
    pytest.param(RESTART, "patch", WORKLOADS["statefulset"], False, id="patch"),
    pytest.param(SCALE, "get", WORKLOADS["deployment"], True, id="get"),
    pytest.param(DELETE_POD, "delete", PODS, False, id="delete"),
])
async def test_a_server_slower_than_the_timeout_is_retried_only_for_reads(
        kmock: kmock.KubernetesEmulator, actions: dict[str, Action], gate: asyncio.Event,
        req: ActionRequest, method: str, resource: str, retried: bool) -> None:
    stalled = kmock[method, kmock.resource(resource)] << gate.wait
    quick = ActionRequest.from_json({**req.to_json(), "timeout": 0.5})

    with pytest.raises(ActionError, match=r"timed out after 0\.\ds") as raised:
        await actions[req.type].run(quick)

    assert raised.value.transient is retried
    assert len(stalled) == 1  # no hidden client retry multiplied the budget


@pytest.fixture
def closed_port() -> int:
    """A loopback port that nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def unreachable(closed_port: int) -> Iterator[ApiClient]:
    """The official client, configured as the service configures it, for `closed_port`."""
    client = api_client(Configuration(host=f"https://127.0.0.1:{closed_port}"))
    yield client
    close_api_client(client)


async def test_a_refused_connection_is_transient_and_names_the_api_server(
        unreachable: ApiClient, closed_port: int, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 23: one failed attempt is one quiet failure (no urllib3 "Retrying" lines:
    the worker owns the retry policy), and the reason says which server was tried."""
    action = kubernetes_actions(unreachable)["kubernetes.delete_pod"]
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ActionError) as raised:
        await action.run(DELETE_POD)

    assert raised.value.transient
    assert raised.value.message == (
        f"delete pods {NAMESPACE}/web-1: cannot reach the Kubernetes API at "
        f"https://127.0.0.1:{closed_port}: connection refused")
    connects = [r for r in caplog.records if "Starting new HTTPS connection" in r.getMessage()]
    assert len(connects) == 1  # one attempt
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]


async def test_no_call_starts_after_the_deadline() -> None:
    operation = Operation(verb="get", resource="pods", namespace=NAMESPACE, name="web-1")

    def never(timeout: float) -> None:
        raise AssertionError("called after the deadline")

    with pytest.raises(ActionError, match="out of time") as raised:
        await call(operation, Deadline(0.0), never)

    assert raised.value.transient


@pytest.mark.parametrize(("header", "expected"), [
    pytest.param("7", 7.0, id="as-asked"),
    pytest.param("86400", MAX_RETRY_AFTER, id="capped"),
    pytest.param("inf", MAX_RETRY_AFTER, id="infinite-capped"),
    pytest.param("nan", None, id="nan-ignored"),
    pytest.param("-5", None, id="negative-ignored"),
])
async def test_retry_after_is_capped_and_jittered(
        kmock: kmock.KubernetesEmulator, actions: dict[str, Action], header: str,
        expected: float | None) -> None:
    """A throttling API server cannot park a job for a day, and throttled retries
    spread out instead of returning in the same second."""
    reaction = kmock["get", kmock.resource(WORKLOADS["deployment"])] << 429 << status(
        429, "slow down")
    reaction << kmock.headers({"Retry-After": header})
    with pytest.raises(ActionError) as raised:
        await actions["kubernetes.scale"].run(SCALE)
    got = raised.value.retry_after
    if expected is None:
        assert got is None
    else:
        assert got is not None and expected <= got <= expected * (1 + RETRY_AFTER_JITTER)


def test_jitter_only_adds() -> None:
    assert bounded_retry_after(10, jitter=lambda: 0.0) == 10
    assert bounded_retry_after(10, jitter=lambda: 1.0) == 12
    assert bounded_retry_after(1e9, jitter=lambda: 0.5) == MAX_RETRY_AFTER * 1.1
