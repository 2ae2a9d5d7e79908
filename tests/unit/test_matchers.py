"""Alertmanager matcher semantics: operators, anchoring, missing labels, quoting."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.rules.matchers import Matcher, MatcherError, MatchType

LABELS = {"alertname": "KubePodCrashLooping", "namespace": "apps-a", "pod": "web-1"}


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param('alertname="KubePodCrashLooping"', True, id="equal"),
    pytest.param('alertname="KubePod"', False, id="equal-is-not-prefix"),
    pytest.param('namespace!="apps-a"', False, id="not-equal"),
    pytest.param('namespace=~"apps-.*"', True, id="regex"),
    pytest.param('namespace=~"apps"', False, id="regex-is-anchored"),
    pytest.param('namespace=~"pps-a"', False, id="regex-anchored-at-start"),
    pytest.param('namespace!~"kube-.*"', True, id="not-regex"),
    pytest.param('missing=""', True, id="missing-label-equals-empty"),
    pytest.param('missing!=""', False, id="missing-label-not-empty"),
    pytest.param('missing=~".*"', True, id="missing-label-matches-dotstar"),
    pytest.param("namespace=apps-a", True, id="unquoted-value"),
    pytest.param(' pod = "web-1" ', True, id="spaces-around"),
    pytest.param('pod=~"web-1|web-2"', True, id="alternation-anchored-as-group"),
])
def test_matches(text: str, expected: bool) -> None:
    assert Matcher.parse(text).matches(LABELS) is expected


@pytest.mark.parametrize("text", [
    pytest.param("alertname", id="no-operator"),
    pytest.param('1abc="x"', id="bad-label-name"),
    pytest.param('a=~"("', id="bad-regex"),
    pytest.param('a="unterminated', id="unbalanced-quote"),
    pytest.param('a=="x"', id="double-equals-value-quote"),
])
def test_invalid_matchers_are_refused(text: str) -> None:
    with pytest.raises(MatcherError):
        Matcher.parse(text)


label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,15}", fullmatch=True)
label_values = st.text(max_size=30)


@given(name=label_names, value=label_values, labels=st.dictionaries(label_names, label_values))
def test_equal_is_dict_equality_with_missing_as_empty(name: str, value: str,
                                                      labels: dict[str, str]) -> None:
    matcher = Matcher(name, MatchType.EQUAL, value)
    assert matcher.matches(labels) is (labels.get(name, "") == value)
    assert Matcher(name, MatchType.NOT_EQUAL, value).matches(labels) is not matcher.matches(labels)


@given(name=label_names, value=label_values)
def test_str_round_trips_through_parse(name: str, value: str) -> None:
    for match_type in (MatchType.EQUAL, MatchType.NOT_EQUAL):
        original = Matcher(name, match_type, value)
        parsed = Matcher.parse(str(original))
        assert (parsed.name, parsed.type, parsed.value) == (name, match_type, value)


@given(value=label_values, actual=label_values)
def test_escaped_literal_regex_matches_only_the_whole_value(value: str, actual: str) -> None:
    matcher = Matcher.parse(f'l=~"{_go_escape(re.escape(value))}"')
    assert matcher.matches({"l": actual}) is (actual == value)
    assert Matcher.parse(f'l!~"{_go_escape(re.escape(value))}"').matches({"l": actual}) is (
        actual != value)


def _go_escape(text: str) -> str:
    import json

    return json.dumps(text)[1:-1]


def test_regex_anchors_do_not_accept_a_trailing_newline() -> None:
    """As in Alertmanager (Go): `^(?:x)$` does not match "x\\n"."""
    assert not Matcher.parse('node=~"worker-1"').matches({"node": "worker-1\n"})
    assert not Matcher.parse('node=~""').matches({"node": "\n"})
    assert Matcher.parse('node!~"worker-1"').matches({"node": "worker-1\n"})
