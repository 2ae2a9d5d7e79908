"""rbac.gitops: get on the GitOps controllers' objects, off by default, valid when on."""

from __future__ import annotations

import pytest

from .chart import NAMESPACE, render
from .test_chart_rbac import as_set
from .validation import validate

GITOPS = {("argoproj.io", "applications", "get"),
          ("kustomize.toolkit.fluxcd.io", "kustomizations", "get"),
          ("helm.toolkit.fluxcd.io", "helmreleases", "get"),
          ("source.toolkit.fluxcd.io", "gitrepositories", "get")}


def test_off_by_default() -> None:
    names = [m.name for m in render() if m.kind.startswith("ClusterRole")]
    assert not any(name.endswith("-gitops") for name in names)


@pytest.mark.parametrize("namespaces", [["apps-a"], []], ids=["namespaced", "cluster-wide"])
def test_on_grants_get_only_on_the_controllers_objects(namespaces: list[str]) -> None:
    rendered = render({"rbac": {"gitops": True, "namespaces": namespaces}})
    [role] = [m.body for m in rendered if m.kind == "ClusterRole"
              and m.name == "remediator-gitops"]
    [binding] = [m.body for m in rendered if m.kind == "ClusterRoleBinding"
                 and m.name == "remediator-gitops"]
    assert as_set(role["rules"]) == GITOPS
    assert binding["roleRef"]["name"] == "remediator-gitops"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "remediator",
                                    "namespace": NAMESPACE}]
    validate(role)
    validate(binding)


def test_rbac_create_false_creates_none() -> None:
    rendered = render({"rbac": {"gitops": True, "create": False}})
    assert not [m for m in rendered if m.name.endswith("-gitops")]


def test_suspend_adds_patch_on_kustomizations_only() -> None:
    rendered = render({"rbac": {"gitops": True, "gitopsSuspend": True}})
    [role] = [m.body for m in rendered if m.name == "remediator-gitops"
              and m.kind == "ClusterRole"]
    assert as_set(role["rules"]) == GITOPS | {
        ("kustomize.toolkit.fluxcd.io", "kustomizations", "patch")}
    validate(role)
