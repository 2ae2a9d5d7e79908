"""Each guard as a table: plain values in, a verdict out."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.decide import guards
from remediator.decide.guards import render_matchers
from remediator.model.breaker import BreakerSnapshot
from remediator.model.policy import Policy
from remediator.rules.matchers import Matcher

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.mark.parametrize(("namespace", "allowed", "denied", "verdict"), [
    pytest.param("apps-a", [], ["kube-system"], None, id="no-allow-list-allows-all"),
    pytest.param("kube-system", [], ["kube-system"], "deny-list", id="deny-list"),
    pytest.param("kube-system", ["kube-system"], ["kube-system"], "deny-list",
                 id="deny-wins-over-allow"),
    pytest.param("apps-b", ["apps-a"], [], "allow-list", id="outside-allow-list"),
    pytest.param("apps-a", ["apps-a"], [], None, id="inside-allow-list"),
    pytest.param(None, ["apps-a"], [], None, id="cluster-scoped-target"),
])
def test_namespace_denial(namespace: str | None, allowed: list[str], denied: list[str],
                          verdict: str | None) -> None:
    policy = Policy(allowed_namespaces=frozenset(allowed), denied_namespaces=frozenset(denied))
    result = guards.namespace_denial(namespace, policy)
    assert (result is None) if verdict is None else (verdict in (result or ""))


@pytest.mark.parametrize(("last", "cooldown", "remaining"), [
    pytest.param(None, 10 * MIN, None, id="never-acted"),
    pytest.param(NOW - 5 * MIN, 10 * MIN, 5 * MIN, id="inside-cooldown"),
    pytest.param(NOW - 10 * MIN, 10 * MIN, None, id="exactly-at-end"),
    pytest.param(NOW - 11 * MIN, 10 * MIN, None, id="after-cooldown"),
    pytest.param(NOW, timedelta(0), None, id="zero-cooldown"),
])
def test_cooldown_remaining(last: datetime | None, cooldown: timedelta,
                            remaining: timedelta | None) -> None:
    assert guards.cooldown_remaining(last, cooldown, NOW) == remaining


@pytest.mark.parametrize(("count", "maximum", "exceeded"), [
    pytest.param(0, None, False, id="no-limit"),
    pytest.param(2, 3, False, id="below"),
    pytest.param(3, 3, True, id="at-limit"),
    pytest.param(9, 3, True, id="above"),
])
def test_rate_exceeded(count: int, maximum: int | None, exceeded: bool) -> None:
    assert guards.rate_exceeded(count, maximum) is exceeded


POLICY = Policy(breaker_max_actions=10, breaker_max_failures=3,
                breaker_window=10 * MIN, breaker_cooldown=30 * MIN)


@pytest.mark.parametrize(("snapshot", "actions", "failures", "is_open", "trip"), [
    pytest.param(BreakerSnapshot(), 0, 0, False, False, id="quiet"),
    pytest.param(BreakerSnapshot(), 9, 2, False, False, id="below-thresholds"),
    pytest.param(BreakerSnapshot(), 10, 0, True, True, id="too-many-actions-trips"),
    pytest.param(BreakerSnapshot(), 0, 3, True, True, id="too-many-failures-trips"),
    pytest.param(BreakerSnapshot(opened_at=NOW - 5 * MIN), 0, 0, True, False,
                 id="open-while-cooling-down"),
    pytest.param(BreakerSnapshot(opened_at=NOW - 31 * MIN), 0, 0, False, False,
                 id="closes-after-cooldown"),
    pytest.param(BreakerSnapshot(opened_at=NOW - 5 * MIN, reset_at=NOW - MIN), 0, 0, False,
                 False, id="operator-reset-closes"),
])
def test_breaker_verdict(snapshot: BreakerSnapshot, actions: int, failures: int,
                         is_open: bool, trip: bool) -> None:
    verdict = guards.breaker_verdict(snapshot, actions=actions, failures=failures,
                                     policy=POLICY, now=NOW)
    assert (verdict.open, verdict.trip) == (is_open, trip)


@pytest.mark.parametrize(("snapshot", "start"), [
    pytest.param(BreakerSnapshot(), NOW - 10 * MIN, id="plain-window"),
    pytest.param(BreakerSnapshot(reset_at=NOW - 2 * MIN), NOW - 2 * MIN,
                 id="reset-forgets-earlier-failures"),
    pytest.param(BreakerSnapshot(opened_at=NOW - 35 * MIN), NOW - 5 * MIN,
                 id="close-forgets-earlier-failures"),
])
def test_breaker_window_start(snapshot: BreakerSnapshot, start: datetime) -> None:
    assert guards.breaker_window_start(snapshot, POLICY, NOW) == start


@pytest.mark.parametrize(("firing", "blocked"), [
    pytest.param([], False, id="nothing-firing"),
    pytest.param([{"alertname": "Other"}], False, id="unrelated-alert"),
    pytest.param([{"alertname": "KubeNodeNotReady", "node": "n1"}], True, id="precondition"),
])
def test_blocking_alert(firing: list[dict[str, str]], blocked: bool) -> None:
    result = guards.blocking_alert([Matcher.parse('alertname="KubeNodeNotReady"')], firing)
    assert (result is not None) is blocked


# -- issue 7, item 5: templated regex matchers treat label values as data ----

_VALUES = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                  max_size=30)


@pytest.mark.parametrize("operator", ["=~", "!~"])
@given(value=_VALUES, other=_VALUES)
def test_a_templated_regex_matcher_matches_the_value_literally(operator: str, value: str,
                                                                other: str) -> None:
    [matcher] = render_matchers([Matcher.parse(f'node{operator}"{{{{ labels.node }}}}"')],
                                {"node": value}, {})
    hit = matcher.matches({"node": other})
    assert hit is ((other == value) if operator == "=~" else (other != value))


def test_dot_star_from_a_label_does_not_match_everything() -> None:
    [matcher] = render_matchers([Matcher.parse('node=~"{{ labels.node }}"')],
                                {"node": ".*"}, {})
    assert not matcher.matches({"node": "worker-1"})
    assert matcher.matches({"node": ".*"})


@pytest.mark.serial  # a wall-clock bound
def test_a_catastrophic_pattern_from_a_label_is_only_text() -> None:
    [matcher] = render_matchers([Matcher.parse('node=~"x{{ labels.node }}"')],
                                {"node": "(a+)+$"}, {})
    started = time.perf_counter()
    assert not matcher.matches({"node": "x" + "a" * 22 + "!"})
    assert time.perf_counter() - started < 0.1
