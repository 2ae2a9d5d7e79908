"""RBAC derived from values: exactly what the enabled action types need, nothing more."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from .chart import NAMESPACE, render

DELETE_POD = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]}
ROLLOUT_RESTART = {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets",
                                                        "daemonsets"], "verbs": ["get", "patch"]}
ROLLOUT_UNDO = [
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "patch"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list"]},
]
SCALE = {"apiGroups": ["apps"], "resources": ["deployments/scale", "statefulsets/scale"],
         "verbs": ["get", "patch"]}
HPA = {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
       "verbs": ["get", "patch"]}
# What the evidence snapshot reads (remediator/actions/kubernetes/snapshot.py):
# in each namespace, and the pod's node, cluster-scoped (test_chart_evidence.py
# checks these against the calls a snapshot really makes).
EVIDENCE = [
    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets"],
     "verbs": ["get"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get"]},
]
EVIDENCE_NODES = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
NEEDS: dict[str, list[dict[str, Any]]] = {
    "kubernetes.delete_pod": [DELETE_POD],
    "kubernetes.rollout_restart": [ROLLOUT_RESTART],
    "kubernetes.rollout_undo": ROLLOUT_UNDO,
    "kubernetes.scale": [SCALE],
    "kubernetes.hpa_patch": [HPA],
}
ALL_ACTIONS = sorted(NEEDS)


def rbac(actions: list[str], *, namespaces: list[str] | None = None,
         evidence: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {"actions": actions, "evidence": evidence}
    if namespaces is not None:
        values["namespaces"] = namespaces
    return {"rbac": values}


def as_set(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(group, resource, verb) triples: what a rule list grants, whatever its layout."""
    return {(group, resource, verb) for rule in rules for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def expected(actions: list[str], evidence: bool) -> set[tuple[str, str, str]]:
    """What every Role and ClusterRole of the release grants together."""
    rules = [rule for action in actions for rule in NEEDS[action]]
    return as_set(rules + (EVIDENCE + EVIDENCE_NODES if evidence else []))


@pytest.mark.parametrize(("actions", "rules"), [
    pytest.param(["kubernetes.delete_pod"], [DELETE_POD], id="delete-pod"),
    pytest.param(["kubernetes.rollout_restart"], [ROLLOUT_RESTART], id="rollout-restart"),
    pytest.param(["kubernetes.rollout_undo"], ROLLOUT_UNDO, id="rollout-undo"),
    pytest.param(["kubernetes.scale"], [SCALE], id="scale"),
    pytest.param(["kubernetes.hpa_patch"], [HPA], id="hpa"),
    pytest.param(["kubernetes.delete_pod", "kubernetes.rollout_restart", "kubernetes.scale",
                  "kubernetes.hpa_patch"], [DELETE_POD, ROLLOUT_RESTART, SCALE, HPA],
                 id="defaults"),
    pytest.param([], [], id="none"),
])
def test_each_action_type_grants_exactly_its_rules(actions: list[str],
                                                   rules: list[dict[str, Any]]) -> None:
    [role] = render(rbac(actions, namespaces=["apps-a"])).of_kind("Role")
    assert role["rules"] == rules


def test_evidence_adds_its_reads_and_a_cluster_role_for_nodes() -> None:
    rendered = render(rbac(["kubernetes.delete_pod"], namespaces=["apps-a"], evidence=True))
    [role] = rendered.of_kind("Role")
    assert role["rules"] == [DELETE_POD, *EVIDENCE]
    [nodes] = rendered.of_kind("ClusterRole")
    assert nodes["metadata"]["name"] == "remediator-nodes"
    assert nodes["rules"] == EVIDENCE_NODES
    [binding] = rendered.of_kind("ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                  "kind": "ClusterRole", "name": "remediator-nodes"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "remediator",
                                    "namespace": NAMESPACE}]


def test_without_evidence_there_is_no_cluster_role() -> None:
    rendered = render(rbac(["kubernetes.delete_pod"], namespaces=["apps-a"]))
    assert rendered.of_kind("ClusterRole") == rendered.of_kind("ClusterRoleBinding") == []


def test_evidence_is_granted_by_default() -> None:
    rendered = render()
    for role in rendered.of_kind("Role"):
        assert as_set(EVIDENCE) <= as_set(role["rules"])
    assert rendered.one("ClusterRole")["rules"] == EVIDENCE_NODES


@pytest.mark.parametrize("evidence", [False, True], ids=["no-evidence", "evidence"])
@pytest.mark.parametrize("size", range(len(ALL_ACTIONS) + 1))
def test_every_combination_grants_the_union_and_nothing_dangerous(size: int,
                                                                  evidence: bool) -> None:
    for combination in itertools.combinations(ALL_ACTIONS, size):
        actions = list(combination)
        for rendered in (render(rbac(actions, namespaces=["apps-a"], evidence=evidence)),
                         render(rbac(actions, namespaces=[], evidence=evidence))):
            roles = rendered.of_kind("Role") + rendered.of_kind("ClusterRole")
            granted = as_set([rule for role in roles for rule in role["rules"]])
            assert granted == expected(actions, evidence)
            for group, resource, verb in granted:
                assert "*" not in (group, resource, verb)
                assert resource not in {"secrets", "pods/exec", "pods/attach",
                                        "pods/portforward", "serviceaccounts/token"}
                assert verb not in {"create", "escalate", "bind", "impersonate"}


def test_one_role_and_binding_per_listed_namespace() -> None:
    rendered = render(rbac(["kubernetes.delete_pod"], namespaces=["apps-a", "apps-b"]))
    roles = rendered.of_kind("Role")
    bindings = rendered.of_kind("RoleBinding")
    assert [r["metadata"]["namespace"] for r in roles] == ["apps-a", "apps-b"]
    assert [b["metadata"]["namespace"] for b in bindings] == ["apps-a", "apps-b"]
    for binding in bindings:
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": "remediator"}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "remediator",
                                        "namespace": NAMESPACE}]
    assert rendered.of_kind("ClusterRole") == []
    assert rendered.of_kind("ClusterRoleBinding") == []


def test_the_service_is_allowed_the_namespaces_it_has_roles_in() -> None:
    rendered = render(rbac(["kubernetes.delete_pod"], namespaces=["apps-a", "apps-b"]))
    [container] = rendered.one("Deployment")["spec"]["template"]["spec"]["containers"]
    allowed = {e["name"]: e.get("value") for e in container["env"]}
    assert allowed["REMEDIATOR_ALLOWED_NAMESPACES"] == "apps-a,apps-b"


def test_no_namespaces_means_one_cluster_role_and_a_warning() -> None:
    rendered = render(rbac(["kubernetes.delete_pod"], namespaces=[]))
    assert rendered.of_kind("Role") == []
    assert rendered.one("ClusterRole")["rules"] == [DELETE_POD]
    with_evidence = render(rbac(["kubernetes.delete_pod"], namespaces=[], evidence=True))
    assert with_evidence.one("ClusterRole")["rules"] == [DELETE_POD, *EVIDENCE,
                                                         *EVIDENCE_NODES]
    binding = rendered.one("ClusterRoleBinding")
    assert binding["roleRef"]["kind"] == "ClusterRole"
    assert binding["subjects"][0]["namespace"] == NAMESPACE
    assert "WARNING: rbac.namespaces is empty" in rendered.notes


def test_rbac_can_be_left_to_the_user() -> None:
    kinds = {m.kind for m in render({"rbac": {"create": False}})}
    assert not kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
