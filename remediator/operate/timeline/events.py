"""What one audit entry says to an incident timeline, and which alerts an integration takes.

Label values are untrusted: they are only compared and sent as JSON
values, never used in a URL path without quoting (`OpsgenieApi`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remediator.model.outcomes import ACTION_RESULTS, VERIFICATIONS, Outcome

# The public APIs' defaults (here, not in apis.py: settings read them without httpx).
PAGERDUTY_EVENTS = "https://events.pagerduty.com"
OPSGENIE_API = "https://api.opsgenie.com"

POSTED = frozenset({Outcome.EXECUTED, Outcome.DRY_RUN, Outcome.AWAITING_APPROVAL,
                    Outcome.APPROVED, Outcome.DECLINED, Outcome.EXPIRED, Outcome.EXHAUSTED,
                    Outcome.PRECONDITION_FAILED, Outcome.RESOLVED}
                   | ACTION_RESULTS | VERIFICATIONS)
"""What an incident's timeline hears of: decisions that act or ask, what the action did,
its verification and approval answers; not repeats or guards' refusals of no action."""

ANNOTATED = frozenset({Outcome.EXECUTED} | ACTION_RESULTS | VERIFICATIONS)
"""What becomes a Grafana annotation: an executed action, what it did, its verification."""

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!=|=)\s*(.*?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Matcher:
    """`name=value`, `name!=value` or `name=~regex` (anchored), like Alertmanager's."""

    name: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(f"{text!r} is not a label matcher (name=value, name!=value, "
                             "name=~regex)")
        name, op, value = found.groups()
        value = value.strip('"')
        pattern = None
        if op == "=~":
            try:
                pattern = re.compile(f"(?:{value})")
            except re.error as error:
                raise ValueError(f"{text!r}: bad regex: {error}") from None
        return cls(name, op, value, pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.pattern is not None:
            return self.pattern.fullmatch(actual) is not None
        return (actual == self.value) == (self.op == "=")


def parse_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    return tuple(Matcher.parse(text) for text in texts)


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Every matcher holds (no matcher: every alert)."""
    return all(m.matches(labels) for m in matchers)


@dataclass(frozen=True, kw_only=True)
class Event:
    remediation_id: str
    outcome: str
    reason: str
    rule: str
    namespace: str
    alertname: str
    action: str
    target: str
    ts: datetime
    labels: Mapping[str, str]
    group_key: str
    url: str
    """The remediation's console page ("" without EXTERNAL_URL)."""

    @property
    def short_id(self) -> str:
        return self.remediation_id[:8]

    @property
    def summary(self) -> str:
        """One line, under PagerDuty's 1024 characters."""
        text = (f"remediator: {self.action} {self.target} ({self.rule}) {self.outcome}"
                f"{': ' + self.reason if self.reason else ''}")
        return text[:1000]

    def details(self) -> dict[str, str]:
        return {"remediation": self.remediation_id, "outcome": self.outcome,
                "rule": self.rule, "namespace": self.namespace, "alertname": self.alertname,
                "action": self.action, "target": self.target, "reason": self.reason[:2000]}


def event_of(entry: Mapping[str, Any], external_url: str | None) -> Event | None:
    """The event an audit entry makes, None for what a timeline does not hear of."""
    rid = entry.get("remediation_id")
    if not rid or entry.get("outcome") not in POSTED:
        return None
    labels = entry.get("labels") or {}
    url = f"{external_url.rstrip('/')}/remediations/{rid}" if external_url else ""
    return Event(remediation_id=rid, outcome=entry["outcome"], reason=entry.get("reason", ""),
                 rule=entry.get("rule", ""), namespace=entry.get("namespace", ""),
                 alertname=entry.get("alertname", ""), action=entry.get("action", ""),
                 target=entry.get("target", ""), ts=datetime.fromisoformat(entry["ts"]),
                 labels={str(k): str(v) for k, v in labels.items()},
                 group_key=entry.get("group_key", ""), url=url)


def group_key_hash(group_key: str) -> str:
    """Alertmanager's `Key.Hash()`: the SHA-256 of the group key, which its Opsgenie
    integration sends as the alert's alias."""
    return hashlib.sha256(group_key.encode()).hexdigest()
