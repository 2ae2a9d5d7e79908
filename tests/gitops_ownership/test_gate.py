"""act, refuse and propose on an Argo CD-managed Deployment, through the worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from kmock import KubernetesEmulator
from kubernetes.client import ApiClient

from remediator.operate.notify import claim_events, message
from remediator.store.operating import OperatorStore
from remediator.store.readmodel import ReadModel
from tests.gitops_ownership.conftest import (
    APPS,
    DEPLOYMENTS,
    NS,
    PODS,
    REPLICASETS,
    REPO,
    World,
    application,
    deployment,
    owned,
)
from tests.gitops_ownership.rig import FakeProposer, Rig, build_rig

TRACKING = {"argocd.argoproj.io/tracking-id": f"shop-web:apps/Deployment:{NS}/web"}


def rules(gitops: str = "") -> str:
    extra = f"\n    gitops: {gitops}" if gitops else ""
    return f"""\
rules:
  - name: scale-web
    matchers: ['alertname="WebSaturated"']
    action: {{type: kubernetes.scale, namespace: "{{{{ labels.namespace }}}}",
              name: "{{{{ labels.deployment }}}}", step: 2, max: 10}}
    limits: {{cooldown: 0s}}{extra}
"""


@pytest.fixture
def managed(world: World) -> World:
    world.add(DEPLOYMENTS, deployment(annotations=TRACKING, replicas=3))
    world.add(APPS, application())
    return world


@pytest.fixture
def proposer() -> FakeProposer:
    return FakeProposer()


def rig_for(tmp_path: Path, client: ApiClient, gitops: str = "",
            proposer: FakeProposer | None = None, default: str = "act") -> Rig:
    return build_rig(tmp_path, client, rules(gitops), proposer=proposer, default=default)


def replicas(world: World) -> int:
    return int(world.get(DEPLOYMENTS, NS, "web")["spec"]["replicas"])


async def test_act_says_self_heal_will_undo_it(tmp_path: Path, client: ApiClient,
                                               managed: World) -> None:
    rig = rig_for(tmp_path, client)
    rig.fire()
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "succeeded" and replicas(managed) == 5
    assert entry["detail"]["gitops"]["mode"] == "act"
    assert entry["detail"]["gitops"]["note"] == (
        "Argo CD self-heal is on for Application argocd/shop-web: it will put git's state "
        "back until the change is in git")
    assert "gitops_managed" in [h["name"] for h in entry["detail"]["hints"]]


async def test_refuse_gives_the_key_back(tmp_path: Path, client: ApiClient,
                                         managed: World) -> None:
    rig = rig_for(tmp_path, client, "refuse")
    rig.fire()
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "gitops_managed" and replicas(managed) == 3
    assert entry["reason"] == ("not run: deployment/shop/web is managed by Argo CD "
                               "(Application argocd/shop-web); the rule says refuse")
    rig.fire()  # decided afresh, not a duplicate
    await rig.worker.drain()
    assert [e["outcome"] for e in rig.audit()].count("gitops_managed") == 2


async def test_default_setting_applies_without_a_rule_entry(
        tmp_path: Path, client: ApiClient, managed: World) -> None:
    rig = rig_for(tmp_path, client, default="refuse")
    rig.fire()
    await rig.worker.drain()
    assert rig.last()["outcome"] == "gitops_managed"


async def test_unmanaged_target_is_untouched_by_the_gate(
        tmp_path: Path, client: ApiClient, world: World) -> None:
    world.add(DEPLOYMENTS, deployment(replicas=3))
    rig = rig_for(tmp_path, client, "refuse")
    rig.fire()
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "succeeded" and "gitops" not in entry["detail"]


async def test_propose_writes_git_not_the_cluster(tmp_path: Path, client: ApiClient,
                                                  managed: World,
                                                  proposer: FakeProposer) -> None:
    rig = rig_for(tmp_path, client, "propose", proposer)
    (summary,) = rig.fire()
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "proposed" and replicas(managed) == 3
    assert entry["reason"] == "proposed in git: https://git.example.com/platform/apps/pull/7"
    assert entry["detail"]["gitops"]["proposal"]["branch"] == (
        f"remediator/{summary['remediation_id']}")
    (request,) = proposer.requests
    assert (request.source.repo_url, request.source.path, request.source.target_revision) == (
        REPO, "apps/web", "main")
    assert request.target.kind == "Deployment" and dict(request.change.values) == {  # type: ignore[union-attr]
        "spec.replicas": 5}
    assert f"Console: https://remediator.example/remediations/{summary['remediation_id']}" in (
        request.message)
    rig.fire()  # the proposal stands for the alert: a repeat is a duplicate
    await rig.worker.drain()
    assert len(proposer.requests) == 1


async def test_propose_also_act(tmp_path: Path, client: ApiClient, managed: World,
                                proposer: FakeProposer) -> None:
    rig = rig_for(tmp_path, client, "{mode: propose, also_act: true}", proposer)
    rig.fire()
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "succeeded" and replicas(managed) == 5
    assert entry["detail"]["gitops"]["proposal"]["pr_url"].endswith("/pull/7")
    assert entry["detail"]["gitops"]["note"] == (
        "Argo CD self-heal is on for Application argocd/shop-web: it will put git's state "
        "back until the pull request merges")


async def test_failed_proposal_fails_and_gives_the_key_back(
        tmp_path: Path, client: ApiClient, managed: World) -> None:
    rig = rig_for(tmp_path, client, "propose", FakeProposer(fail="no manifest for web"))
    rig.fire()
    await rig.worker.drain()
    entry = rig.last()
    assert (entry["outcome"], entry["reason"]) == ("failed", "not proposed: no manifest for web")
    rig.fire()
    await rig.worker.drain()
    assert [e["outcome"] for e in rig.audit()].count("failed") == 2


async def test_helm_source_without_values_is_refused_clearly(
        tmp_path: Path, client: ApiClient, world: World, proposer: FakeProposer) -> None:
    world.add(DEPLOYMENTS, deployment(annotations=TRACKING, replicas=3))
    world.add(APPS, application(chart="web"))
    rig = rig_for(tmp_path, client, "propose", proposer)
    rig.fire()
    await rig.worker.drain()
    assert rig.last()["reason"] == ("not proposed: helm-sourced application: name "
                                    "values.file and values.key in the rule")
    assert not proposer.requests


async def test_helm_values(tmp_path: Path, client: ApiClient, world: World,
                           proposer: FakeProposer) -> None:
    world.add(DEPLOYMENTS, deployment(annotations=TRACKING, replicas=3))
    world.add(APPS, application(chart="web"))
    rig = rig_for(tmp_path, client,
                  "{mode: propose, values: {file: values-prod.yaml, key: replicaCount}}",
                  proposer)
    rig.fire()
    await rig.worker.drain()
    assert rig.last()["outcome"] == "proposed"
    change = proposer.requests[0].change
    assert (change.file, change.key, change.value) == (  # type: ignore[union-attr]
        "values-prod.yaml", "replicaCount", 5)



async def test_notification_carries_the_pull_request(tmp_path: Path, client: ApiClient,
                                                     managed: World,
                                                     proposer: FakeProposer) -> None:
    rig = rig_for(tmp_path, client, "propose", proposer)
    store = OperatorStore(rig.database)
    assert claim_events(store, rig.clock()) == []  # the cursor starts here
    (summary,) = rig.fire()
    await rig.worker.drain()
    (event,) = claim_events(store, rig.clock())
    sent = message(event, "https://remediator.example")
    assert (sent["event"], sent["title"]) == ("proposed", "Change proposed in git")
    assert sent["pr_url"] == "https://git.example.com/platform/apps/pull/7"
    assert "https://git.example.com/platform/apps/pull/7" in sent["text"]
    view = ReadModel(database=rig.database).remediation(summary["remediation_id"])
    assert view.proposal is not None and view.proposal["pr_url"] == sent["pr_url"]


async def test_also_act_retried_after_throttling_does_not_propose_again(
        tmp_path: Path, client: ApiClient, managed: World, proposer: FakeProposer,
        kmock: KubernetesEmulator) -> None:
    # The action's first read is throttled: a transient failure, nothing changed yet.
    kmock["get", f"/apis/apps/v1/namespaces/{NS}/deployments/web/scale"][:1] << 429
    rig = build_rig(tmp_path, client, rules("{mode: propose, also_act: true}"),
                    proposer=proposer, retries=1)
    rig.fire()
    await rig.worker.drain()
    assert rig.last()["detail"]["gitops"]["proposal"]["pr_url"].endswith("/pull/7")
    rig.clock.advance(seconds=5)
    await rig.worker.drain()
    entry = rig.last()
    assert entry["outcome"] == "succeeded" and replicas(managed) == 5
    assert entry["detail"]["gitops"]["note"].endswith("(proposed at the first attempt)")
    assert len(proposer.requests) == 1
    assert any("attempt 1/2 failed" in e["reason"] for e in rig.audit())


RESTART_AND_DELETE = """\
rules:
  - name: restart-web
    matchers: ['alertname="WebSaturated"']
    action: {type: kubernetes.rollout_restart, namespace: "{{ labels.namespace }}",
             name: "{{ labels.deployment }}"}
    limits: {cooldown: 0s}
  - name: delete-pod
    matchers: ['alertname="WebSaturated"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}",
             name: "{{ labels.pod }}"}
    gitops: refuse
    limits: {cooldown: 0s}
"""


async def test_restart_notes_out_of_sync_and_pod_deletion_always_acts(
        tmp_path: Path, client: ApiClient, managed: World) -> None:
    managed.add(REPLICASETS, owned("ReplicaSet", "web-7d9", "Deployment", "web"))
    pod = owned("Pod", "web-7d9-x1", "ReplicaSet", "web-7d9")
    pod["spec"] = {"containers": [{"name": "web", "image": "shop/web:1.1"}]}
    managed.add(PODS, pod)
    rig = build_rig(tmp_path, client, RESTART_AND_DELETE)
    rig.fire(pod="web-7d9-x1")
    await rig.worker.drain()
    by_rule = {e["rule"]: e for e in rig.audit() if e["outcome"] == "succeeded"}
    assert by_rule["restart-web"]["detail"]["gitops"]["note"] == (
        "Argo CD will show Application argocd/shop-web OutOfSync (restartedAt)")
    deleted = by_rule["delete-pod"]["detail"]["gitops"]
    assert (deleted["mode"], deleted["controller"]) == ("act", "argocd")  # rule said refuse
