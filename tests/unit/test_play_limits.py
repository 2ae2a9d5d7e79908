"""Issue 7, item 4: a `limit` from labels names exactly one inventory host, and
a play's target includes the play (two plays on one host keep their own cooldowns)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from remediator.decide.engine import decide
from remediator.decide.state import MemoryState
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.model import Rule, RuleSet

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
HOSTS = frozenset({"worker-1", "worker-2", "cp-1"})


def play_rule(name: str, playbook: str, limit: str = "{{ labels.node }}") -> Rule:
    return Rule.model_validate({
        "name": name, "matchers": ['alertname="NodeDown"'],
        "action": {"type": "ansible.playbook", "playbook": playbook, "limit": limit},
        "limits": {"cooldown": "1h"}})


RULES = RuleSet.of([play_rule("restart-k3s", "repair/restart_k3s.yml")])


def node_down(node: str) -> Alert:
    return Alert(status="firing", starts_at=NOW,  # type: ignore[arg-type]
                 labels={"alertname": "NodeDown", "node": node})


def decided(node: str, policy: Policy, rules: RuleSet = RULES) -> tuple[Outcome, str]:
    decision = decide(node_down(node), rules=rules, policy=policy, state=MemoryState(),
                      now=NOW)[0]
    return decision.outcome, decision.reason


@pytest.mark.parametrize("node", [
    pytest.param("all", id="all"),
    pytest.param("workers", id="group"),
    pytest.param("k3s-servers", id="another-group"),
    pytest.param("localhost", id="localhost-not-in-inventory"),
    pytest.param("worker-9", id="unknown-host"),
    pytest.param("ungrouped", id="ungrouped"),
])
def test_a_limit_from_labels_that_is_not_one_inventory_host_is_denied(node: str) -> None:
    outcome, reason = decided(node, Policy(inventory_hosts=HOSTS))
    assert outcome is Outcome.DENIED
    assert f"limit {node!r} from labels is not a host of the inventory" in reason


def test_an_inventory_host_is_acted_on() -> None:
    assert decided("worker-1", Policy(inventory_hosts=HOSTS))[0] is Outcome.EXECUTED


def test_localhost_is_allowed_when_the_inventory_lists_it() -> None:
    policy = Policy(inventory_hosts=HOSTS | {"localhost"})
    assert decided("localhost", policy)[0] is Outcome.EXECUTED


@pytest.mark.parametrize("node", ["all", "localhost", "ungrouped"])
def test_without_an_inventory_names_that_are_never_one_host_are_denied(node: str) -> None:
    outcome, reason = decided(node, Policy(executable=frozenset()))
    assert outcome is Outcome.DENIED
    assert "not a single inventory host" in reason


def test_a_literal_limit_written_by_the_rule_author_is_trusted() -> None:
    rules = RuleSet.of([play_rule("fleet", "repair/restart_k3s.yml", limit="workers")])
    assert decided("anything", Policy(inventory_hosts=HOSTS), rules)[0] is Outcome.EXECUTED


def test_two_plays_on_one_host_do_not_share_a_cooldown() -> None:
    rules = RuleSet.of([play_rule("restart-k3s", "repair/restart_k3s.yml"),
                        play_rule("free-disk", "repair/free_disk.yml")])
    decisions = decide(node_down("worker-1"), rules=rules, policy=Policy(inventory_hosts=HOSTS),
                       state=MemoryState(), now=NOW)
    assert [d.outcome for d in decisions] == [Outcome.EXECUTED, Outcome.EXECUTED]
    assert [d.request.target for d in decisions if d.request] == [
        "playbook:repair/restart_k3s.yml/worker-1", "playbook:repair/free_disk.yml/worker-1"]
