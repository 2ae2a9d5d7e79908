"""The alertname index: it narrows the rules an alert is matched against, and
`RuleSet.matching` still returns exactly what a scan of every rule returns, in
rule order (decisions are made in that order)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.rules.index import RuleIndex, literal_alternatives, pinned_alertnames
from remediator.rules.matchers import Matcher
from remediator.rules.model import Rule, RuleSet

ACTION = {"type": "kubernetes.delete_pod", "namespace": "{{ labels.namespace }}",
          "name": "{{ labels.pod }}"}


def rule(name: str, *matchers: str) -> Rule:
    return Rule.model_validate({"name": name, "matchers": list(matchers), "action": ACTION})


def linear(rules: Sequence[Rule], labels: Mapping[str, str]) -> list[Rule]:
    """What `matching` did before the index: every rule, in order."""
    return [r for r in rules if r.matches(labels)]


def names(rules: Sequence[Rule]) -> list[str]:
    return [r.name for r in rules]


@pytest.mark.parametrize(("matchers", "expected"), [
    pytest.param(['alertname="A"'], {"A"}, id="equal"),
    pytest.param(['alertname=~"A|B"'], {"A", "B"}, id="literal-alternation"),
    pytest.param(['alertname=~"A"'], {"A"}, id="literal-regex"),
    pytest.param(['alertname=~"A|"'], {"A", ""}, id="empty-branch-matches-missing"),
    pytest.param(['alertname=""'], {""}, id="equal-empty"),
    pytest.param(['alertname=~"A|B"', 'alertname="B"'], {"B"}, id="intersection"),
    pytest.param(['alertname="A"', 'alertname="B"'], set(), id="contradiction-matches-none"),
    pytest.param(['alertname=~"A|B.*"'], None, id="regex-branch"),
    pytest.param(['alertname=~"(A|B)"'], None, id="group"),
    pytest.param(['alertname=~"(?i:a)"'], None, id="inline-flag"),
    pytest.param(['alertname=~"A\\\\.B"'], None, id="escape"),
    pytest.param(['alertname!="A"'], None, id="not-equal"),
    pytest.param(['alertname!~"A|B"'], None, id="not-regex"),
    pytest.param(['namespace="A"'], None, id="no-alertname-matcher"),
    pytest.param(['alertname!="A"', 'alertname="B"'], {"B"}, id="equal-beside-not-equal"),
])
def test_pinned_alertnames(matchers: list[str], expected: set[str] | None) -> None:
    pinned = pinned_alertnames([Matcher.parse(m) for m in matchers])
    assert pinned == (frozenset(expected) if expected is not None else None)


def test_literal_alternatives_are_exactly_what_the_regex_fullmatches() -> None:
    assert literal_alternatives("KubePodCrashLooping|KubeJobFailed") == {
        "KubePodCrashLooping", "KubeJobFailed"}
    assert literal_alternatives("Kube.*") is None
    assert literal_alternatives("a-b") is None  # `-` is escaped by re.escape: not indexed


def test_an_alert_is_matched_only_against_rules_that_can_answer_its_alertname() -> None:
    crash = rule("crash", 'alertname="KubePodCrashLooping"')
    others = [rule(f"synthetic-{i}", f'alertname="Synthetic{i}"') for i in range(500)]
    catch_all = rule("catch-all", 'severity="critical"')
    either = rule("either", 'alertname=~"KubePodCrashLooping|KubeJobFailed"')
    index = RuleIndex([crash, *others, catch_all, either])

    assert names(index.candidates({"alertname": "KubePodCrashLooping"})) == [
        "crash", "catch-all", "either"]
    assert names(index.candidates({"alertname": "KubeJobFailed"})) == ["catch-all", "either"]
    assert names(index.candidates({"alertname": "Unknown"})) == ["catch-all"]
    assert names(index.candidates({})) == ["catch-all"]


def test_matching_keeps_rule_order_across_indexed_and_unindexed_rules() -> None:
    rules = [rule("a", 'severity="page"'), rule("b", 'alertname="X"'),
             rule("c", 'alertname=~".*"'), rule("d", 'alertname=~"X|Y"')]
    ruleset = RuleSet.of(rules)
    labels = {"alertname": "X", "severity": "page"}
    assert names(ruleset.matching(labels)) == ["a", "b", "c", "d"]
    assert ruleset.by_name("c") is rules[2]
    assert ruleset.by_name("nope") is None


# Few values, so generated rules and labels collide often; the regexes mix
# literal alternations (indexed) with real regexes (always checked).
VALUES = ["A", "B", "C", ""]
REGEXES = ["A", "A|B", "B|C|", "", "A.*", "[AB]", "(A|B)", ".*", "A|B.*", "(?i:a)", ".+"]
OPERATORS = ["=", "!=", "=~", "!~"]


@st.composite
def matchers(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["alertname", "alertname", "namespace"]))
    op = draw(st.sampled_from(OPERATORS))
    value = draw(st.sampled_from(REGEXES if "~" in op else VALUES))
    return f"{name}{op}{json.dumps(value)}"


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Rule]:
    count = draw(st.integers(0, 8))
    return [rule(f"r{i}", *draw(st.lists(matchers(), min_size=1, max_size=3)))
            for i in range(count)]


label_sets = st.fixed_dictionaries({}, optional={
    "alertname": st.sampled_from([*VALUES, "D", "A|B"]),
    "namespace": st.sampled_from(VALUES)})


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets(), labels=st.lists(label_sets, min_size=1, max_size=5))
def test_indexed_matching_equals_the_linear_scan(rules: list[Rule],
                                                 labels: list[dict[str, str]]) -> None:
    ruleset = RuleSet.of(rules)
    for alert in labels:
        found = ruleset.matching(alert)
        expected = linear(rules, alert)
        assert names(found) == names(expected)
        assert all(a is b for a, b in zip(found, expected, strict=True))
