"""Issue 24 end to end: a crash-loop alert on an Argo CD-managed Deployment whose image
was rolled out minutes ago becomes a pull request reverting the image commit.

Everything is real except the forge's HTTP API (respx): the webhook's intake and the
worker over SQLite, the Kubernetes client against kmock's emulator serving the
Deployment and its Argo CD Application, gitprop's Proposer pushing over `git daemon`
to a bare repository seeded with a Kustomize base and overlay.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import respx
from kubernetes.client import ApiClient

from remediator.gitops.proposals import Proposer
from remediator.gitops.settings import GitopsSettings
from remediator.model.alerts import Alert
from remediator.store.readmodel import ReadModel
from tests.evidence.conftest import deployment as rolled_deployment
from tests.evidence.conftest import replicaset
from tests.gitops.conftest import DEPLOYMENT, Upstream, daemon_upstream, git  # noqa: F401
from tests.gitops_ownership.conftest import APPS, DEPLOYMENTS, REPLICASETS, World, application
from tests.gitops_ownership.rig import NOW, build_rig
from tests.support.payloads import crashloop

BASE = "apps/shop/base/deployment.yaml"
RULES = """\
rules:
  - name: undo-bad-rollout
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.rollout_undo, namespace: "{{ labels.namespace }}",
             name: "{{ labels.deployment }}", max_age: 1h}
    when: {hints: [recent_rollout]}
    gitops: propose
    limits: {cooldown: 0s}
"""
PULLS = "https://gitea.test/api/v1/repos/team/shop/pulls"


def lines_changed(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


@respx.mock
async def test_crash_loop_after_rollout_becomes_a_revert_pull_request(
        tmp_path: Path, client: ApiClient, world: World,
        daemon_upstream: Upstream) -> None:  # noqa: F811
    bad = DEPLOYMENT.replace("web:1.0", "web:1.1-bad")
    image_commit = daemon_upstream.commit("web: 1.1", {BASE: bad})
    web = rolled_deployment(image="registry.local/shop/web:1.1-bad")
    web["metadata"]["namespace"] = "shop"
    web["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] = (
        "shop:apps/Deployment:shop/web")
    world.add(DEPLOYMENTS, web)
    for name, revision, created, image in (  # 1.1-bad rolled out 2 minutes before the alert
            ("web-b2", 2, NOW - timedelta(minutes=2), "registry.local/shop/web:1.1-bad"),
            ("web-a1", 1, NOW - timedelta(days=3), "registry.local/shop/web:1.0")):
        replicas = replicaset(name, revision, created, image)
        replicas["metadata"]["namespace"] = "shop"
        world.add(REPLICASETS, replicas)
    app = application("shop")
    app["spec"]["source"].update(repoURL=daemon_upstream.url, path="apps/shop/overlays/prod")
    world.add(APPS, app)
    token = tmp_path / "forge-token"
    token.write_text("t0ken\n")
    proposer = Proposer(GitopsSettings(token_file=token, forge="gitea",
                                       forge_url="https://gitea.test/api/v1"),
                        state_dir=tmp_path / "state")
    pulls = respx.post(PULLS).mock(return_value=httpx.Response(
        201, json={"html_url": "https://gitea.test/team/shop/pulls/12"}))
    rig = build_rig(tmp_path, client, RULES, proposer=proposer)

    (summary,) = rig.intake.receive([Alert.model_validate(crashloop(
        "web-7d9-x1", "shop", deployment="web", starts_at=NOW))], group_key="g")
    await rig.worker.drain()

    entry = rig.last()
    assert (entry["outcome"], entry["reason"]) == (
        "proposed", "proposed in git: https://gitea.test/team/shop/pulls/12")
    assert [h["name"] for h in entry["detail"]["hints"]] == ["recent_rollout", "gitops_managed"]
    assert entry["detail"]["hints"][0]["explanation"].endswith("2m before the alert started")
    rid = summary["remediation_id"]
    branch = f"remediator/{rid}"
    assert daemon_upstream.branches() == ["main", branch]
    (changed,) = lines_changed(daemon_upstream.show("main", BASE),
                               daemon_upstream.show(branch, BASE))
    assert changed == (b'          image: "registry.local/shop/web:1.1-bad"   # pinned by release\n',
                       b'          image: "registry.local/shop/web:1.0"   # pinned by release\n')
    reverted = daemon_upstream.show(branch, BASE).decode()
    assert "# Service and Deployment of the web shop" in reverted and "# http" in reverted
    message = git(daemon_upstream.bare, "log", "-1", "--format=%B", branch)
    assert f"Remediation: {rid}" in message
    assert git(daemon_upstream.bare, "rev-parse", f"{branch}~1").strip() == image_commit
    assert git(daemon_upstream.bare, "diff", "--name-only", "main", branch).split() == [BASE]
    sent = json.loads(pulls.calls.last.request.content)
    assert (sent["head"], sent["base"]) == (branch, "main")
    assert sent["title"] == "remediator: rollout_undo deployment/shop/web (KubePodCrashLooping)"
    view = ReadModel(database=rig.database).remediation(rid)
    assert view.state == "proposed"
    assert view.proposal is not None and view.proposal["pr_url"].endswith("/pulls/12")
    assert view.proposal["files"] == [BASE]
