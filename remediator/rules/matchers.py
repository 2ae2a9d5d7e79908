"""Alertmanager matcher syntax: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.

Regexes are fully anchored, as in Alertmanager, and a missing label matches
the empty string, so rules copied from an Alertmanager route behave the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

_MATCHER = re.compile(
    r"""^\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$""",
    re.DOTALL,
)


class MatchType(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


class MatcherError(ValueError):
    """A matcher string that is not valid Alertmanager matcher syntax."""


@dataclass(frozen=True)
class Matcher:
    name: str
    type: MatchType
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Parse one matcher; raise MatcherError saying what is wrong."""
        found = _MATCHER.match(text)
        if not found:
            raise MatcherError(
                f"invalid matcher {text!r}: expected name=\"value\" with one of = != =~ !~"
            )
        value = _unquote(found["value"], text)
        match_type = MatchType(found["op"])
        pattern = None
        if match_type in (MatchType.REGEX, MatchType.NOT_REGEX):
            try:
                # fullmatch, not ^...$: Python's $ also matches before a final
                # newline, Alertmanager's (Go) anchors do not.
                pattern = re.compile(f"(?:{value})", re.DOTALL)
            except re.error as error:
                raise MatcherError(f"invalid regex in matcher {text!r}: {error}") from None
        return cls(found["name"], match_type, value, pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.type is MatchType.EQUAL:
            return actual == self.value
        if self.type is MatchType.NOT_EQUAL:
            return actual != self.value
        assert self._pattern is not None
        hit = self._pattern.fullmatch(actual) is not None
        return hit if self.type is MatchType.REGEX else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.type.value}{json.dumps(self.value)}"


def _unquote(raw: str, text: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            raise MatcherError(f"invalid quoted value in matcher {text!r}") from None
        assert isinstance(value, str)
        return value
    if '"' in raw:
        raise MatcherError(f"unbalanced quotes in matcher {text!r}")
    return raw


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)
