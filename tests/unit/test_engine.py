"""decide(): one test per decision outcome, and untrusted labels never reach a target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.decide.decision import RuleFacts
from remediator.decide.engine import decide, decide_step
from remediator.decide.state import MemoryState
from remediator.model.alerts import Alert
from remediator.model.breaker import BreakerSnapshot
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.model.validation import namespace as valid_namespace
from remediator.model.validation import object_name as valid_name
from remediator.rules.matchers import Matcher
from remediator.rules.model import Rule, RuleSet

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

RULE = Rule.model_validate({
    "name": "restart-pod",
    "matchers": ['alertname="KubePodCrashLooping"'],
    "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
               "name": "{{ labels.pod }}"},
    "limits": {"cooldown": "10m", "max": 2, "per": "1h"},
    "escalate": [{"type": "kubernetes.rollout_restart", "namespace": "{{ labels.namespace }}",
                  "name": "{{ labels.deployment }}"}],
    "unless_firing": ['alertname="KubeNodeNotReady"'],
})
RULES = RuleSet.of([RULE])


def crash(pod: str = "web-1", namespace: str = "apps-a", *, status: str = "firing",
          starts: datetime = NOW) -> Alert:
    return Alert(status=status, starts_at=starts,  # type: ignore[arg-type]
                 labels={"alertname": "KubePodCrashLooping", "namespace": namespace,
                         "pod": pod, "deployment": "web"})


def outcome(alert: Alert, state: MemoryState | None = None, policy: Policy | None = None,
            rules: RuleSet = RULES, now: datetime = NOW) -> tuple[Outcome, str]:
    decisions = decide(alert, rules=rules, policy=policy or Policy(),
                       state=state if state is not None else MemoryState(), now=now)
    assert len(decisions) == 1
    return decisions[0].outcome, decisions[0].reason


def test_executed() -> None:
    assert outcome(crash())[0] is Outcome.EXECUTED


def test_dry_run_global_and_per_rule() -> None:
    got, reason = outcome(crash(), policy=Policy(dry_run=True))
    assert (got, reason.split(":")[0]) == (Outcome.DRY_RUN, "global dry_run")
    dry_rules = RuleSet.of([RULE.model_copy(update={"dry_run": True})])
    got, reason = outcome(crash(), rules=dry_rules)
    assert (got, reason.split(":")[0]) == (Outcome.DRY_RUN, "rule dry_run")


@pytest.mark.parametrize(("executable", "why"), [
    pytest.param(frozenset({"ansible.playbook"}), "no Kubernetes connection", id="kubernetes"),
    pytest.param(frozenset({"kubernetes.rollout_restart"}), "no Kubernetes connection",
                 id="other-kubernetes-type"),
])
def test_unavailable_action_types_become_dry_runs_that_say_why(executable: frozenset[str],
                                                                why: str) -> None:
    got, reason = outcome(crash(), policy=Policy(executable=executable))
    assert got is Outcome.DRY_RUN
    assert reason.startswith(f"{why}: would run kubernetes.delete_pod")
    assert "rule dry_run" not in reason


def test_shadow_mode_wins_over_a_missing_capability() -> None:
    policy = Policy(dry_run=True, executable=frozenset())
    assert outcome(crash(), policy=policy)[1].startswith("global dry_run:")


def test_duplicate_for_repeats_of_the_same_alert() -> None:
    state = MemoryState()
    assert outcome(crash(), state)[0] is Outcome.EXECUTED
    assert outcome(crash(), state, now=NOW + timedelta(hours=4))[0] is Outcome.DUPLICATE


def test_cooldown_for_a_new_episode_on_the_same_target() -> None:
    state = MemoryState()
    outcome(crash(), state)
    again = crash(starts=NOW + timedelta(minutes=3))
    got, reason = outcome(again, state, now=NOW + timedelta(minutes=3))
    assert got is Outcome.COOLDOWN
    assert "180s ago" in reason
    later = crash(starts=NOW + timedelta(minutes=11))
    assert outcome(later, state, now=NOW + timedelta(minutes=11))[0] is Outcome.EXECUTED


def test_rate_limited_per_rule() -> None:
    state = MemoryState()
    assert [outcome(crash(pod=f"p{i}"), state)[0] for i in range(3)] == [
        Outcome.EXECUTED, Outcome.EXECUTED, Outcome.RATE_LIMITED]


def test_rate_limited_globally() -> None:
    state = MemoryState()
    policy = Policy(global_rate_max=1)
    outcome(crash(pod="a"), state, policy)
    got, reason = outcome(crash(pod="b"), state, policy)
    assert got is Outcome.RATE_LIMITED
    assert reason.startswith("global limit")


def test_breaker_open_and_it_trips() -> None:
    state = MemoryState(failures=[NOW - timedelta(minutes=1)] * 5)
    decision = decide(crash(), rules=RULES, policy=Policy(), state=state, now=NOW)[0]
    assert decision.outcome is Outcome.BREAKER_OPEN
    assert decision.trips_breaker
    assert state.breaker_snapshot.opened_at == NOW
    still = MemoryState(breaker_snapshot=BreakerSnapshot(opened_at=NOW - timedelta(minutes=1)))
    assert outcome(crash(), still)[0] is Outcome.BREAKER_OPEN


@pytest.mark.parametrize(("alert", "reason"), [
    pytest.param(crash(namespace="kube-system"), "deny-list", id="denied-namespace"),
    pytest.param(crash(pod="x; rm -rf /"), "RFC 1123", id="shell-metacharacters"),
    pytest.param(crash(pod="../etc"), "RFC 1123", id="path-traversal"),
    pytest.param(crash(pod="a" * 300), "RFC 1123", id="too-long"),
    pytest.param(crash(namespace="Apps"), "RFC 1123", id="uppercase-namespace"),
    pytest.param(Alert(status="firing", starts_at=NOW,
                       labels={"alertname": "KubePodCrashLooping", "namespace": "apps-a"}),
                 "no label or annotation 'pod'", id="missing-label"),
])
def test_denied(alert: Alert, reason: str) -> None:
    got, why = outcome(alert)
    assert got is Outcome.DENIED
    assert reason in why


def test_denied_outside_allow_list() -> None:
    got, why = outcome(crash(namespace="apps-b"),
                       policy=Policy(allowed_namespaces=frozenset({"apps-a"})))
    assert (got, "allow-list" in why) == (Outcome.DENIED, True)


def test_denied_while_a_precondition_alert_fires() -> None:
    state = MemoryState(firing=[{"alertname": "KubeNodeNotReady", "node": "n1"}])
    got, why = outcome(crash(), state)
    assert (got, why) == (Outcome.DENIED, "unless_firing: KubeNodeNotReady is firing")


def test_paused() -> None:
    assert outcome(crash(), MemoryState(is_paused=True))[0] is Outcome.PAUSED


def test_no_match() -> None:
    alert = Alert(status="firing", starts_at=NOW, labels={"alertname": "Other"})
    assert outcome(alert)[0] is Outcome.NO_MATCH


def test_resolved_never_acts() -> None:
    state = MemoryState()
    got, _ = outcome(crash(status="resolved"), state)
    assert got is Outcome.RESOLVED
    assert state.actions == []


def test_exhausted_when_the_ladder_has_no_more_steps() -> None:
    decision = decide_step(crash(), RULE, 2, policy=Policy(), state=MemoryState(), now=NOW)
    assert decision.outcome is Outcome.EXHAUSTED


def test_escalation_step_is_a_separate_idempotency_key() -> None:
    state = MemoryState()
    first = decide_step(crash(), RULE, 0, policy=Policy(), state=state, now=NOW)
    state.record(first, NOW)
    second = decide_step(crash(), RULE, 1, policy=Policy(), state=state, now=NOW)
    assert second.outcome is Outcome.EXECUTED
    assert second.request is not None and second.request.target == "deployment/apps-a/web"


def test_a_decision_keeps_of_its_rule_only_what_is_read_after_deciding() -> None:
    rule = Rule.model_validate({
        "name": "restart-pod", "matchers": ['alertname="KubePodCrashLooping"'],
        "action": {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
                   "name": "{{ labels.pod }}"},
        "verify": {"after": "2m", "expr": 'up{pod="{{ labels.pod }}"} == 0'},
        "approval": {"timeout": "45m"},
    })
    decision = decide_step(crash(), rule, 0, policy=Policy(), state=MemoryState(), now=NOW)
    assert decision.outcome is Outcome.AWAITING_APPROVAL
    assert decision.reason.startswith("awaiting approval within 45m: ")
    assert decision.rule == RuleFacts(name="restart-pod", approval_timeout=timedelta(minutes=45),
                                      verify=rule.verify)
    assert decision.rule_name == "restart-pod"
    [resolved] = decide(crash(status="resolved"), rules=RULES, policy=Policy(),
                        state=MemoryState(), now=NOW)
    assert resolved.rule == RuleFacts(name="restart-pod")
    [unmatched] = decide(crash().model_copy(update={"labels": {"alertname": "Other"}}),
                         rules=RULES, policy=Policy(), state=MemoryState(), now=NOW)
    assert (unmatched.outcome, unmatched.rule, unmatched.rule_name) == (Outcome.NO_MATCH, None, "")


@settings(max_examples=300)
@given(pod=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=300),
       namespace=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=80))
def test_untrusted_labels_reach_a_request_only_when_valid(pod: str, namespace: str) -> None:
    decision = decide(crash(pod=pod, namespace=namespace), rules=RULES, policy=Policy(),
                      state=MemoryState(), now=NOW)[0]
    if decision.outcome is Outcome.EXECUTED:
        assert decision.request is not None
        assert valid_name(decision.request.name) == pod
        assert valid_namespace(decision.request.namespace or "") == namespace
        assert namespace != "kube-system"
    else:
        assert decision.outcome is Outcome.DENIED


def test_unless_firing_can_name_the_same_node() -> None:
    rule = RULE.model_copy(update={"unless_firing": [
        Matcher.parse('alertname="KubeNodeNotReady"'), Matcher.parse('node="{{ labels.node }}"')]})
    rules = RuleSet.of([rule])
    state = MemoryState(firing=[{"alertname": "KubeNodeNotReady", "node": "n2"}])

    def on(node: str) -> Outcome:
        alert = Alert(status="firing", starts_at=NOW, labels={
            "alertname": "KubePodCrashLooping", "namespace": "apps-a", "pod": f"p-{node}",
            "node": node})
        return outcome(alert, state, rules=rules)[0]

    assert (on("n1"), on("n2")) == (Outcome.EXECUTED, Outcome.DENIED)
