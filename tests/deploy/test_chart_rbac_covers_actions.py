"""The chart grants every API call the actions really make: code and RBAC cannot drift.

Each action runs against kmock's emulator through the real client; every
request it sent is turned into the (group, resource, verb) RBAC would check,
and the Role the chart renders for that action type alone must allow it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.kubernetes.client import api_client, close_api_client
from remediator.app.policy_settings import policy_from_settings
from remediator.app.settings import Settings
from remediator.decide.engine import decide_step
from remediator.decide.state import MemoryState
from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.model import Rule, RuleSet, load_rules
from tests.actions.conftest import NAMESPACE, Cluster, hpa, pod, workload

from .chart import CHART, VALUE_SETS, Rendered, render
from .test_chart import env
from .test_chart_rbac import EVIDENCE, EVIDENCE_NODES, as_set

NOW = datetime(2026, 1, 1, tzinfo=UTC)

_VERBS = {"GET": "get", "PATCH": "patch", "DELETE": "delete", "PUT": "update", "POST": "create"}
# The chart's RBAC switch for each action type (a revert undoes an hpa_patch).
_SWITCH = {"kubernetes.hpa_revert": "kubernetes.hpa_patch"}


@pytest.fixture
def client(kmock: kmock.KubernetesEmulator) -> Iterator[ApiClient]:
    built = api_client(Configuration(host=str(kmock.url).rstrip("/")))
    yield built
    close_api_client(built)


def _seed(cluster: Cluster) -> None:
    cluster.add(pod("web-1"))
    for kind in ("Deployment", "StatefulSet", "DaemonSet"):
        cluster.add(workload(kind, "web" if kind == "Deployment" else kind.lower()))
    cluster.add(hpa("web", 2, 5))


def _request(type_: str, kind: str, name: str, **params: Any) -> ActionRequest:
    return ActionRequest(type=type_, kind=kind, namespace=NAMESPACE, name=name, params=params,
                         timeout=5.0)


CALLS = [
    pytest.param(_request("kubernetes.delete_pod", "pod", "web-1"), id="delete-pod"),
    pytest.param(_request("kubernetes.rollout_restart", "deployment", "web"), id="restart-deploy"),
    pytest.param(_request("kubernetes.rollout_restart", "statefulset", "statefulset"),
                 id="restart-sts"),
    pytest.param(_request("kubernetes.rollout_restart", "daemonset", "daemonset"),
                 id="restart-ds"),
    pytest.param(_request("kubernetes.scale", "deployment", "web", step=1, min=1, max=5),
                 id="scale-deploy"),
    pytest.param(_request("kubernetes.scale", "statefulset", "statefulset", step=1, min=1, max=5),
                 id="scale-sts"),
    pytest.param(_request("kubernetes.hpa_patch", "hpa", "web", step=1, ceiling=10,
                          fields="both", revert=True), id="hpa-patch-and-revert"),
]


def _rbac_triple(request: kmock.Request) -> tuple[str, str, str]:
    parts = request.url.path.strip("/").split("/")
    # /api/v1/namespaces/NS/RES/NAME[/SUB] or /apis/GROUP/VERSION/namespaces/NS/RES/NAME[/SUB]
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    assert rest[0] == "namespaces" and rest[1] == NAMESPACE, request.url
    resource = "/".join([rest[2], *rest[4:5]])
    verb = _VERBS[str(request.method.value).upper()]
    return group, resource, "list" if verb == "get" and len(rest) == 3 else verb


@pytest.mark.parametrize("call", CALLS)
async def test_the_role_for_an_action_type_allows_every_call_it_makes(
        kmock: kmock.KubernetesEmulator, client: ApiClient, call: ActionRequest) -> None:
    _seed(Cluster(kmock))
    actions = kubernetes_actions(client)

    result = await actions[call.type].run(call)
    for followup in result.followups:
        await actions[followup.type].run(followup)

    used = {_rbac_triple(request) for request in kmock}
    [role] = render({"rbac": {"namespaces": [NAMESPACE],
                              "actions": [_SWITCH.get(call.type, call.type)]}}).of_kind("Role")
    assert used
    assert used <= as_set(role["rules"]), f"{call.type} needs {used - as_set(role['rules'])}"


# The shipped example rules against the chart's RBAC: every namespace a rule may
# act in (as the engine decides it, with the policy the rendered environment
# gives the service) is covered by the rendered Roles or ClusterRole, with the
# verbs of each step of the rule's ladder and the evidence snapshot's reads.

EXAMPLE_RULES = CHART / "files" / "rules"
# Namespaces to try besides the listed ones: an apps-* one not listed, others.
PROBES = ("apps-other", "default", "monitoring", "kube-system")
ACTS = {Outcome.EXECUTED, Outcome.AWAITING_APPROVAL, Outcome.DRY_RUN}
_LABEL = re.compile(r"labels\.([A-Za-z_][A-Za-z0-9_]*)")


def _policy(rendered: Rendered, monkeypatch: pytest.MonkeyPatch) -> Policy:
    """The service's own settings from the rendered environment (the namespace lists)."""
    for name in [n for n in os.environ if n.startswith("REMEDIATOR_")]:
        monkeypatch.delenv(name)
    for name, value in env(rendered).items():
        if name.endswith("_NAMESPACES"):
            monkeypatch.setenv(name, value)
    return policy_from_settings(Settings())


def _alert(rule: Rule, namespace: str) -> Alert:
    """A firing alert the rule matches, in `namespace`, with every label it templates."""
    labels = dict.fromkeys(_LABEL.findall(rule.model_dump_json()), "x1")
    labels |= {m.name: m.value for m in rule.matchers if m.type == "="}
    labels |= {m.name: _matching(m.value) for m in rule.matchers if m.type == "=~"}
    labels["namespace"] = namespace
    return Alert(status="firing", labels=labels, annotations={}, starts_at=NOW)


def _matching(pattern: str) -> str:
    """A value a `=~` matcher of literal alternatives accepts: its first one."""
    first = pattern.split("|")[0]
    assert re.fullmatch(pattern, first), f"pick a value for {pattern!r} by hand"
    return first


def acting(rules: RuleSet, policy: Policy, namespaces: list[str]) -> set[tuple[str, str, str]]:
    """(rule, action type, namespace) of every Kubernetes step the engine would take."""
    found = set()
    for rule in rules.rules:
        for namespace in [*namespaces, *PROBES]:
            alert = _alert(rule, namespace)
            if rule not in rules.matching(alert.labels):
                continue
            for step in range(len(rule.escalate) + 1):
                decision = decide_step(alert, rule, step, policy=policy, state=MemoryState(),
                                       now=NOW)
                request = decision.request
                if (decision.outcome in ACTS and request is not None
                        and request.type.startswith("kubernetes.")):
                    found.add((rule.name, request.type, str(request.namespace)))
    return found


def granted_in(rendered: Rendered, namespace: str) -> set[tuple[str, str, str]]:
    """What the release's Roles in `namespace` and its ClusterRoles grant there."""
    roles = [r for r in rendered.of_kind("Role") if r["metadata"]["namespace"] == namespace]
    rules = [rule for role in roles + rendered.of_kind("ClusterRole") for rule in role["rules"]]
    return as_set(rules)


def needs(action_type: str) -> set[tuple[str, str, str]]:
    """The Role the chart renders for this action type alone (the test above proves it
    allows every call the action makes)."""
    [role] = render({"rbac": {"namespaces": [NAMESPACE], "evidence": False,
                              "actions": [_SWITCH.get(action_type, action_type)]}}
                    ).of_kind("Role")
    return as_set(role["rules"])


@pytest.mark.parametrize("name", ["defaults", "cluster-wide"])
def test_the_example_rules_may_act_only_where_the_chart_grants_what_they_need(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = render(VALUE_SETS[name])
    listed = [str(role["metadata"]["namespace"]) for role in rendered.of_kind("Role")]
    rules = load_rules([EXAMPLE_RULES])
    found = acting(rules, _policy(rendered, monkeypatch), listed)

    snapshot = as_set(EVIDENCE + EVIDENCE_NODES)
    for rule, action_type, namespace in sorted(found):
        missing = (needs(action_type) | snapshot) - granted_in(rendered, namespace)
        assert not missing, f"{rule}: {action_type} in {namespace} lacks {sorted(missing)}"
    kubernetes_rules = {r.name for r in rules.rules
                        if r.action.type.startswith("kubernetes.")}
    assert {rule for rule, _, _ in found} == kubernetes_rules, "a rule can act nowhere"
    if listed:  # the namespaces with Roles are those the rules act in, and only those
        assert {namespace for _, _, namespace in found} == set(listed)
