"""Which rules can match an alert, looked up by its alertname.

Matching every alert against every rule makes a delivery's cost grow with
the rule count. Most rules pin the alertname (`alertname="X"`, or a regex that
is a plain alternation of literals such as `X|Y`), so the index maps each
alertname to the rules that can answer it; rules that do not pin it (no
alertname matcher, `!=`, a real regex) are candidates for every alert.

The index only narrows the candidates: each candidate is still matched in
full, and candidates come out in rule order, so `matching` returns exactly
what the linear scan returned (decisions depend on that order).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from remediator.rules.matchers import Matcher, MatchType

ALERTNAME = "alertname"


class HasMatchers(Protocol):
    @property
    def matchers(self) -> Sequence[Matcher]: ...


R = TypeVar("R", bound=HasMatchers)


class RuleIndex(Generic[R]):
    """Rules by the alertnames they can match; built once per rule set."""

    def __init__(self, rules: Sequence[R]) -> None:
        by_name: dict[str, list[int]] = {}
        anywhere: list[int] = []
        for position, rule in enumerate(rules):
            names = pinned_alertnames(rule.matchers)
            if names is None:
                anywhere.append(position)
            for name in names or ():
                by_name.setdefault(name, []).append(position)
        self._anywhere: tuple[R, ...] = tuple(rules[i] for i in anywhere)
        # Each alertname's candidates merged with the always-checked rules, in
        # rule order, once here rather than per alert.
        self._by_name: dict[str, tuple[R, ...]] = {
            name: tuple(rules[i] for i in sorted({*positions, *anywhere}))
            for name, positions in by_name.items()}

    def candidates(self, labels: Mapping[str, str]) -> tuple[R, ...]:
        """The rules that may match `labels`, in rule order (a superset of the matches)."""
        # A missing label matches as the empty string, as in Matcher.matches.
        return self._by_name.get(labels.get(ALERTNAME, ""), self._anywhere)


def pinned_alertnames(matchers: Sequence[Matcher]) -> frozenset[str] | None:
    """Every alertname these matchers can accept, or None when that is not a finite set.

    Sound, not necessarily tight: if the matchers match labels, their
    alertname (empty when missing) is in the set. Several alertname
    matchers must all hold, so their sets intersect.
    """
    pinned: frozenset[str] | None = None
    for matcher in matchers:
        if matcher.name != ALERTNAME:
            continue
        accepted = _accepted(matcher)
        if accepted is not None:
            pinned = accepted if pinned is None else pinned & accepted
    return pinned


def _accepted(matcher: Matcher) -> frozenset[str] | None:
    if matcher.type is MatchType.EQUAL:
        return frozenset({matcher.value})
    if matcher.type is MatchType.REGEX:
        return literal_alternatives(matcher.value)
    return None


def literal_alternatives(pattern: str) -> frozenset[str] | None:
    """`A|B|C` -> {A, B, C} when every branch is a literal (fully anchored match).

    A branch is literal when `re.escape` leaves it unchanged: no character in
    it means anything to the regex engine, so `(?:A|B)` fullmatches exactly
    the strings A and B. Anything else (classes, escapes, groups, flags,
    quantifiers) is not indexed rather than guessed at.
    """
    branches = pattern.split("|")
    if any(re.escape(branch) != branch for branch in branches):
        return None
    return frozenset(branches)
