"""Kustomize: the field is changed where kustomize finally sets it."""

from __future__ import annotations

import pytest

from remediator.gitops.proposals import (
    GitSource,
    ObjectRef,
    ProposalError,
    ProposalRequest,
    Proposer,
    RevertLastTemplateChange,
    SetFields,
)
from tests.gitops.conftest import Upstream

STAGING = "apps/shop/overlays/staging"
KUSTOMIZATION = f"{STAGING}/kustomization.yaml"
STAGING_KUSTOMIZATION = """\
namespace: shop-staging
namePrefix: stg-
resources:
  - ../../base
replicas:
  - name: web
    count: 1   # staging is small
images:
  - name: registry.local/shop/web
    newTag: "1.0-rc1"
patches:
  - path: probe.json.yaml
    target:
      kind: Deployment
      name: web
"""
JSON_PATCH = """\
- op: replace
  path: /spec/template/spec/containers/1/image
  value: registry.local/proxy:2.4   # staging tries the new proxy
- op: add
  path: /spec/minReadySeconds
  value: 10
"""
STG_WEB = ObjectRef(kind="Deployment", name="stg-web", namespace="shop-staging")


@pytest.fixture
def staging(upstream: Upstream) -> Upstream:
    upstream.commit("shop: staging overlay", {KUSTOMIZATION: STAGING_KUSTOMIZATION,
                                              f"{STAGING}/probe.json.yaml": JSON_PATCH})
    return upstream


def propose(proposer: Proposer, upstream: Upstream, change, target: ObjectRef = STG_WEB,
            branch: str = "remediator/k-1"):
    return proposer.propose(ProposalRequest(
        source=GitSource(repo_url=upstream.url, path=STAGING, target_revision="HEAD"),
        target=target, change=change, branch=branch, title="t", message="m"))


def changed_lines(upstream: Upstream, path: str, branch: str = "remediator/k-1") -> list[bytes]:
    old = upstream.show("main", path).splitlines(keepends=True)
    new = upstream.show(branch, path).splitlines(keepends=True)
    assert len(old) == len(new)
    return [b for a, b in zip(old, new, strict=True) if a != b]


def test_replicas_entry_of_the_kustomization_wins(staging: Upstream, proposer: Proposer) -> None:
    proposal = propose(proposer, staging, SetFields({"spec.replicas": 2}))

    assert proposal.files == (KUSTOMIZATION,)
    assert changed_lines(staging, KUSTOMIZATION) == [b"    count: 2   # staging is small\n"]


def test_images_entry_gets_the_new_tag(staging: Upstream, proposer: Proposer) -> None:
    change = SetFields({"image": "registry.local/shop/web:1.1"}, container="app")

    proposal = propose(proposer, staging, change)

    assert proposal.files == (KUSTOMIZATION,)
    assert changed_lines(staging, KUSTOMIZATION) == [b'    newTag: "1.1"\n']


def test_json6902_operation_value_is_changed(staging: Upstream, proposer: Proposer) -> None:
    proposal = propose(proposer, staging, SetFields({"image": "registry.local/proxy:2.3"},
                                                    container="sidecar"))

    assert proposal.files == (f"{STAGING}/probe.json.yaml",)
    assert changed_lines(staging, f"{STAGING}/probe.json.yaml") == [
        b"  value: registry.local/proxy:2.3   # staging tries the new proxy\n"]


def test_the_name_in_the_cluster_carries_the_prefix(staging: Upstream, proposer: Proposer) -> None:
    unprefixed = ObjectRef(kind="Deployment", name="web", namespace="shop-staging")

    with pytest.raises(ProposalError, match="no manifest defines Deployment shop-staging/web"):
        propose(proposer, staging, SetFields({"spec.replicas": 2}), target=unprefixed)


def test_rollback_of_a_bad_tag_in_the_images_entry(staging: Upstream, proposer: Proposer) -> None:
    staging.commit("staging: 1.1-bad", {
        KUSTOMIZATION: STAGING_KUSTOMIZATION.replace("1.0-rc1", "1.1-bad")})
    staging.commit("staging: bigger", {
        KUSTOMIZATION: STAGING_KUSTOMIZATION.replace("1.0-rc1", "1.1-bad")
        .replace("count: 1 ", "count: 3 ")})

    proposal = propose(proposer, staging, RevertLastTemplateChange())

    assert proposal.files == (KUSTOMIZATION,)
    assert changed_lines(staging, KUSTOMIZATION) == [b'    newTag: "1.0-rc1"\n']
    assert b"count: 3" in staging.show("remediator/k-1", KUSTOMIZATION)


def test_image_pinned_by_digest_refuses_a_tag(staging: Upstream, proposer: Proposer) -> None:
    staging.commit("staging: pin", {KUSTOMIZATION: STAGING_KUSTOMIZATION.replace(
        'newTag: "1.0-rc1"', "digest: sha256:" + "a" * 64)})
    change = SetFields({"image": "registry.local/shop/web:1.1"}, container="app")

    with pytest.raises(ProposalError, match="is pinned by digest"):
        propose(proposer, staging, change)
