"""Each guard as a small pure function: values in, a verdict out.

The engine gathers the values (from the database or from memory) and asks
these functions; nothing here does I/O or reads a clock, so every guard is
tested with a table of plain values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from remediator.model.actions import ActionRequest
from remediator.model.breaker import BreakerSnapshot
from remediator.model.policy import Policy
from remediator.rules.matchers import Matcher, MatchType, match_all
from remediator.rules.templating import Template


def namespace_denial(namespace: str | None, policy: Policy) -> str | None:
    """Why acting in `namespace` is not allowed, or None when it is."""
    if namespace is None:
        return None
    if namespace in policy.denied_namespaces:
        return f"namespace {namespace!r} is on the deny-list"
    if policy.allowed_namespaces and namespace not in policy.allowed_namespaces:
        return f"namespace {namespace!r} is not on the allow-list"
    return None


_NEVER_ONE_HOST = frozenset({"all", "ungrouped", "localhost", "127.0.0.1", "::1"})


def limit_denial(request: ActionRequest, inventory_hosts: frozenset[str] | None) -> str | None:
    """Why a play's `limit`, taken from alert labels, may not be used; None if it may.

    It must name exactly one host of the inventory: `all`, a group, a
    pattern or `localhost` (unless the inventory lists it) would run the
    play on more than, or other than, the host the alert is about. Without
    an inventory (plays are dry-runs then) only the names that are never one
    inventory host are refused.
    """
    if request.type != "ansible.playbook" or not request.params.get("limit_from_labels"):
        return None
    limit = str(request.params.get("limit", ""))
    if inventory_hosts is None:
        if limit in _NEVER_ONE_HOST:
            return f"limit {limit!r} from labels is not a single inventory host"
        return None
    if limit not in inventory_hosts:
        return (f"limit {limit!r} from labels is not a host of the inventory "
                "(a templated limit must name exactly one host)")
    return None


def cooldown_remaining(last_action_at: datetime | None, cooldown: timedelta,
                       now: datetime) -> timedelta | None:
    """Time left before the target may be acted on again, or None if it may now."""
    if last_action_at is None or cooldown <= timedelta(0):
        return None
    ready_at = last_action_at + cooldown
    return ready_at - now if now < ready_at else None


def rate_exceeded(count_in_window: int, maximum: int | None) -> bool:
    """True when one more action would exceed `maximum` in the window."""
    return maximum is not None and count_in_window >= maximum


def render_matchers(matchers: Iterable[Matcher], labels: Mapping[str, str],
                    annotations: Mapping[str, str]) -> list[Matcher]:
    """Fill `{{ labels.x }}` in matcher values, e.g. `node="{{ labels.node }}"`.

    In a regex matcher (`=~`, `!~`) label values are escaped (`re.escape`):
    they are data, so `.*` matches only the text `.*` and `(a+)+$` cannot
    cost seconds inside the writer lock.
    Raises ValueError (the template's error) when a label is missing.
    """
    rendered = []
    for matcher in matchers:
        if "{{" in matcher.value:
            regex = matcher.type in (MatchType.REGEX, MatchType.NOT_REGEX)
            escape = _regex_escaped if regex else dict
            value = Template(matcher.value).render(escape(labels), escape(annotations))
            matcher = Matcher.parse(str(Matcher(matcher.name, matcher.type, value)))
        rendered.append(matcher)
    return rendered


def _regex_escaped(values: Mapping[str, str]) -> dict[str, str]:
    return {name: re.escape(value) for name, value in values.items()}


def alertnames(matchers: Iterable[Matcher]) -> frozenset[str] | None:
    """The alertname an equality matcher pins, to narrow the search (None: any)."""
    for matcher in matchers:
        if matcher.name == "alertname" and matcher.type is MatchType.EQUAL:
            return frozenset({matcher.value})
    return None


def blocking_alert(preconditions: Iterable[Matcher],
                   firing: Iterable[Mapping[str, str]]) -> Mapping[str, str] | None:
    """The first firing alert matched by `unless_firing`, which blocks the action."""
    matchers = list(preconditions)
    if not matchers:
        return None
    return next((labels for labels in firing if match_all(matchers, labels)), None)


@dataclass(frozen=True, kw_only=True)
class BreakerVerdict:
    open: bool
    trip: bool = False
    """True when this verdict opens a closed breaker (the store must persist it)."""
    reason: str = ""


def breaker_window_start(snapshot: BreakerSnapshot, policy: Policy, now: datetime) -> datetime:
    """Count actions and failures only since the later of: the window, a reset, a close.

    Without this, a breaker reset by an operator would trip again at once on
    the very failures that opened it.
    """
    start = now - policy.breaker_window
    if snapshot.reset_at is not None:
        start = max(start, snapshot.reset_at)
    if snapshot.opened_at is not None:
        start = max(start, min(now, snapshot.opened_at + policy.breaker_cooldown))
    return start


def breaker_verdict(snapshot: BreakerSnapshot, *, actions: int, failures: int,
                    policy: Policy, now: datetime) -> BreakerVerdict:
    """Open while cooling down after a trip; trip when the window holds too much."""
    reset_since_trip = (snapshot.opened_at is not None and snapshot.reset_at is not None
                        and snapshot.reset_at >= snapshot.opened_at)
    if snapshot.opened_at is not None and not reset_since_trip:
        closes_at = snapshot.opened_at + policy.breaker_cooldown
        if now < closes_at:
            return BreakerVerdict(open=True, reason=f"circuit breaker open until "
                                  f"{closes_at.isoformat(timespec='seconds')}")
    if failures >= policy.breaker_max_failures:
        return BreakerVerdict(open=True, trip=True, reason=(
            f"circuit breaker tripped: {failures} failed actions in "
            f"{_minutes(policy.breaker_window)}"))
    if actions >= policy.breaker_max_actions:
        return BreakerVerdict(open=True, trip=True, reason=(
            f"circuit breaker tripped: {actions} actions in {_minutes(policy.breaker_window)}"))
    return BreakerVerdict(open=False)


def _minutes(value: timedelta) -> str:
    return f"{int(value.total_seconds() // 60)}m"
