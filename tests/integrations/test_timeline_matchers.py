"""The timeline matchers say which alerts also came through PagerDuty or Opsgenie: they
behave like Alertmanager's for any label value, and bad ones are refused by name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from remediator.operate.timeline.events import Matcher, matches_all, parse_matchers

values = st.text(alphabet=st.characters(blacklist_characters=",\x00"), max_size=20).filter(
    lambda v: v == v.strip().strip('"') and not v.startswith("~"))
"""Label values as a matcher spells them unquoted: no surrounding blanks or quotes, no
leading `~` (that is `=~`; quote such a value)."""


@given(label=values, other=values)
def test_equality_and_inequality_are_exact_for_any_value(label: str, other: str) -> None:
    value = label
    labels = {"severity": value}
    assert Matcher.parse(f"severity={value}").matches(labels)
    assert not Matcher.parse(f"severity!={value}").matches(labels)
    assert Matcher.parse(f"severity={other}").matches(labels) == (other == value)


@given(value=st.from_regex(r"[a-z]{1,8}", fullmatch=True), tail=values)
def test_a_regex_is_anchored(value: str, tail: str) -> None:
    matcher = Matcher.parse(f"team=~{re.escape(value)}")
    assert matcher.matches({"team": value})
    assert matcher.matches({"team": value + tail}) == (tail == "")


def test_a_quoted_value_is_taken_as_it_is() -> None:
    assert Matcher.parse('team="~odd really"').matches({"team": "~odd really"})


def test_a_missing_label_is_the_empty_string_as_in_alertmanager() -> None:
    assert Matcher.parse("team!=payments").matches({})
    assert Matcher.parse("team=").matches({})
    assert not Matcher.parse("team=payments").matches({})


def test_all_matchers_must_hold_and_none_means_every_alert() -> None:
    matchers = parse_matchers(["severity=critical", "team=~pay.*"])
    assert matches_all(matchers, {"severity": "critical", "team": "payments"})
    assert not matches_all(matchers, {"severity": "critical", "team": "shop"})
    assert matches_all((), {})


@pytest.mark.parametrize("text", ["severity", "=critical", "sev-erity=x", "team=~(open"])
def test_a_bad_matcher_says_which(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        Matcher.parse(text)
