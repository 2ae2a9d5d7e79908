"""One `Action` contract (`remediator.model.abc`), every registered action type.

`run` returns an `ActionResult` or raises an `ActionError` (`TargetGone`,
`TargetChanged`, transient or not), never another exception: the worker
reads the retry policy from the error class, and anything else would be a
crash mid-job. Each type runs as the service registers it: the Kubernetes
ones directly and through their deferred proxies (`serve` loads the client in
the background), against kmock's emulator over real HTTP; the Ansible one
through ansible-runner on localhost. What a result or an error carries ends
in the audit log, so it must be JSON the store can write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.ansible.action import ACTION_TYPE, AnsiblePlaybookAction
from remediator.actions.deferred import DeferredActions
from remediator.actions.kubernetes.actions import close_api_client, kubernetes_actions
from remediator.actions.kubernetes.client import api_client
from remediator.actions.kubernetes.deferred import KUBERNETES_ACTION_TYPES
from remediator.actions.kubernetes.target_check import EXISTS_ACTION, exists_request
from remediator.actions.registry import ActionRegistry
from remediator.evidence.limits import SNAPSHOT_ACTION, Limits, snapshot_request
from remediator.evidence.ownership import GITOPS_OWNER_ACTION, GITOPS_SUSPEND_ACTION
from remediator.model.abc import Action
from remediator.model.actions import ActionError, ActionRequest, ActionResult, TargetGone
from remediator.store.types import json_dumps
from tests.actions.conftest import NAMESPACE, Cluster, hpa, pod, workload
from tests.ansible.conftest import PROJECT
from tests.support.promstack import free_port

KUBERNETES = sorted(KUBERNETES_ACTION_TYPES)
_KINDS = {"kubernetes.delete_pod": "pod", "kubernetes.rollout_restart": "deployment",
          "kubernetes.scale": "deployment", "kubernetes.hpa_patch": "hpa",
          "kubernetes.hpa_revert": "hpa", "kubernetes.rollout_undo": "deployment",
          SNAPSHOT_ACTION: "pod", EXISTS_ACTION: "deployment",
          GITOPS_OWNER_ACTION: "deployment", GITOPS_SUSPEND_ACTION: "kustomization"}
_PARAMS: dict[str, dict[str, Any]] = {
    "kubernetes.delete_pod": {"grace_period_seconds": 0},
    "kubernetes.scale": {"step": 1, "min": 1, "max": 5},
    "kubernetes.hpa_patch": {"step": 1, "ceiling": 9, "fields": "max", "revert": True},
    "kubernetes.hpa_revert": {"min_replicas": 2, "max_replicas": 5, "expect_min": 2,
                              "expect_max": 6},
    "kubernetes.rollout_undo": {"max_age": 3600},
    GITOPS_SUSPEND_ACTION: {"suspend": True},
}
KUSTOMIZATIONS = "kustomize.toolkit.fluxcd.io/v1/kustomizations"


def kube_request(type_: str, name: str, *, timeout: float = 5.0) -> ActionRequest:
    """The request a rule renders for `type_` on the target called `name`."""
    kind = _KINDS[type_]
    base = ActionRequest(type=type_, kind=kind, namespace=NAMESPACE, name=name,
                         params=_PARAMS.get(type_, {}), timeout=timeout)
    if type_ == SNAPSHOT_ACTION:
        return snapshot_request(base, Limits(budget=timeout))
    if type_ == EXISTS_ACTION:
        return exists_request(base, timeout)
    return base


def playbook_request(limit: str) -> ActionRequest:
    return ActionRequest(type=ACTION_TYPE, kind="playbook", name=limit, timeout=60,
                         params={"playbook": "ok.yml", "limit": limit, "extravars": {},
                                 "tags": [], "check": False})


@dataclass(frozen=True)
class Subject:
    """One action type as the service registers it, and the requests it is given."""

    action: Action
    request: Callable[[bool], ActionRequest]
    """The request on a target that exists (True) or does not (False)."""
    never_raises: bool = False
    """Read-only evidence: failures go inside the result, which the preflight keeps."""


def registry(client: ApiClient, wiring: str) -> ActionRegistry:
    """The Kubernetes types as `serve` (deferred) or the CLI (direct) registers them."""
    built = ActionRegistry()
    if wiring == "deferred":
        built.register_deferred(DeferredActions(
            KUBERNETES_ACTION_TYPES, lambda: kubernetes_actions(client), name="the client"))
    else:
        for type_, action in kubernetes_actions(client).items():
            built.register(type_, action)
    return built


def kubernetes_subject(client: ApiClient, type_: str, wiring: str) -> Subject:
    action = registry(client, wiring).get(type_)
    assert action is not None
    pod_name = "web-1" if _KINDS[type_] == "pod" else "web"
    return Subject(action, lambda present: kube_request(type_, pod_name if present else "gone"),
                   never_raises=type_ == SNAPSHOT_ACTION)


SUBJECTS = [pytest.param(f"{type_}/{wiring}", id=f"{type_}-{wiring}")
            for type_ in KUBERNETES for wiring in ("direct", "deferred")]
SUBJECTS.append(pytest.param(f"{ACTION_TYPE}/direct", id=ACTION_TYPE,
                             marks=pytest.mark.ansible))


@pytest.fixture(params=SUBJECTS)
def subject(request: pytest.FixtureRequest, cluster: Cluster, client: ApiClient,
            inventory: Callable[..., dict[str, Any]], tmp_path: Path) -> Subject:
    type_, wiring = request.param.split("/")
    if type_ == ACTION_TYPE:
        hosts = inventory("node-a", out_dir=str(tmp_path))
        playbooks = AnsiblePlaybookAction(PROJECT, inventory=hosts,
                                          private_data_root=tmp_path / "runs")
        return Subject(playbooks, lambda present: playbook_request(
            "node-a" if present else "worker-9"))
    cluster.add(pod("web-1"))
    cluster.add(workload("Deployment", "web"))
    cluster.add(hpa("web", 2, 6))
    cluster.emulator.objects[KUSTOMIZATIONS, NAMESPACE, "web"] = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "web", "namespace": NAMESPACE}, "spec": {"suspend": False}}
    return kubernetes_subject(client, type_, wiring)


async def outcome(action: Action, request: ActionRequest) -> ActionResult | ActionError:
    """The contract itself: a result or an ActionError; anything else fails the test."""
    try:
        result: ActionResult | ActionError = await action.run(request)
    except ActionError as error:
        result = error
    if isinstance(result, ActionError):
        json_dumps(result.detail)
        assert result.message
        return result
    assert isinstance(result, ActionResult)
    json_dumps(result.detail)
    assert all(isinstance(followup, ActionRequest) for followup in result.followups)
    for followup in result.followups:
        json.dumps(followup.to_json())  # the job table keeps it until the alert resolves
    return result


def test_every_registered_type_has_a_contract_case(client: ApiClient) -> None:
    """A new action type joins the suite by being registered, not by remembering it."""
    registered = set(kubernetes_actions(client)) | {ACTION_TYPE}
    covered = {param.values[0].split("/")[0] for param in SUBJECTS}  # type: ignore[union-attr]
    assert registered == covered == set(_KINDS) | {ACTION_TYPE}


async def test_a_target_that_exists(subject: Subject) -> None:
    await outcome(subject.action, subject.request(True))


async def test_a_target_that_does_not_exist(subject: Subject) -> None:
    """`TargetGone`: nothing to remediate, not a failure, not retried (the audit's
    `target_gone`). The evidence snapshot never raises: its document says so."""
    got = await outcome(subject.action, subject.request(False))
    if subject.never_raises:
        assert isinstance(got, ActionResult)
    else:
        assert isinstance(got, TargetGone), got
        assert not got.transient


async def test_malformed_parameters(subject: Subject) -> None:
    """A request back from the job table is JSON: wrong types are refused, not a crash."""
    request = subject.request(True)
    wrong: dict[str, Any] = {key: "not-a-number" for key in (*request.params, "step", "min", "max")}
    wrong.update({"playbook": 7, "extravars": ["x"], "tags": "t", "fields": 3})
    await outcome(subject.action, ActionRequest(
        type=request.type, kind=request.kind, namespace=request.namespace,
        name=request.name, params=wrong, timeout=request.timeout))


@pytest.mark.parametrize("type_", KUBERNETES)
async def test_a_kind_the_type_does_not_act_on(client: ApiClient, cluster: Cluster,
                                               type_: str) -> None:
    action = kubernetes_subject(client, type_, "direct").action
    base = kube_request(type_, "web")
    await outcome(action, ActionRequest(type=type_, kind="configmap", namespace=NAMESPACE,
                                        name="web", params=base.params, timeout=base.timeout))


@pytest.fixture
def unreachable() -> Iterator[ApiClient]:
    """A client for a loopback port nothing listens on (connection refused)."""
    client = api_client(Configuration(host=f"http://127.0.0.1:{free_port()}"))
    yield client
    close_api_client(client)


@pytest.fixture
def stalled(stalled_url: str) -> Iterator[ApiClient]:
    """A client for an API server that accepts connections and never answers."""
    client = api_client(Configuration(host=stalled_url))
    yield client
    close_api_client(client)


@pytest.mark.parametrize("wiring", ["direct", "deferred"])
@pytest.mark.parametrize("type_", KUBERNETES)
async def test_an_api_server_that_refuses_connections(unreachable: ApiClient, type_: str,
                                                      wiring: str) -> None:
    """Transient: the API server may be back by the next attempt."""
    subject = kubernetes_subject(unreachable, type_, wiring)
    got = await outcome(subject.action, subject.request(True))
    if type_ == GITOPS_OWNER_ACTION:
        _assert_unknown_owner(got)  # ownership degrades to "unknown": the action goes on
        return
    assert subject.never_raises or (isinstance(got, ActionError) and got.transient)


def _assert_unknown_owner(got: ActionResult | ActionError) -> None:
    assert isinstance(got, ActionResult) and got.detail["unknown"] is True
    assert got.detail["notes"], "the note says why ownership is unknown"


@pytest.mark.serial  # a wall-clock bound
@pytest.mark.parametrize("type_", KUBERNETES)
async def test_an_api_server_that_never_answers(stalled: ApiClient, type_: str) -> None:
    """Within the request's own timeout, as an error (the worker's lease is not spent)."""
    subject = kubernetes_subject(stalled, type_, "direct")
    started = time.monotonic()
    got = await outcome(subject.action, kube_request(type_, "web", timeout=0.5))
    assert time.monotonic() - started < 2.0
    if type_ == GITOPS_OWNER_ACTION:
        _assert_unknown_owner(got)
        return
    assert subject.never_raises or isinstance(got, ActionError)


@pytest.mark.parametrize("type_", KUBERNETES)
async def test_a_deferred_group_that_cannot_be_built(type_: str) -> None:
    """The proxy's own promise: an unloadable client is a transient ActionError."""
    def build() -> dict[str, Action]:
        raise RuntimeError("no client here")

    proxies = ActionRegistry()
    proxies.register_deferred(DeferredActions(KUBERNETES_ACTION_TYPES, build, name="client"))
    action = proxies.get(type_)
    assert action is not None
    got = await outcome(action, kube_request(type_, "web"))
    assert isinstance(got, ActionError) and got.transient
