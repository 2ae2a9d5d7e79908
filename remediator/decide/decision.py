"""What the engine decides, and the idempotency key that makes it happen once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.rules.model import Rule, Verify


def idempotency_key(rule: str, fingerprint: str, starts_at: datetime, step: int) -> str:
    """rule + alert fingerprint + startsAt + step: unique in the database.

    Alertmanager repeats a firing alert every repeat_interval, and an HA pair
    sends each notification twice; all of those carry the same four values.
    """
    started = starts_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{rule}|{fingerprint}|{started}|{step}"


UNAVAILABLE_SUFFIX = "#unavailable"


def unavailable_key(key: str) -> str:
    """The key of a dry-run forced by a missing capability (no cluster, no inventory).

    Distinct from the real key, so the real action can still happen for the
    same alert episode once the capability exists; repeats of the forced
    dry-run are still duplicates of each other.
    """
    return key + UNAVAILABLE_SUFFIX


@dataclass(frozen=True, kw_only=True)
class RuleFacts:
    """What a decision keeps of its rule: the name and what is read after deciding.

    A decision is recorded, queued and approved later. It carries these facts,
    fixed when it was made, rather than the whole rule: the matchers, ladder,
    limits and preconditions are the engine's business and are used up once
    the decision exists, and what a decision drags along is what code after it
    can come to depend on.
    """

    name: str
    approval_timeout: timedelta | None = None
    """How long an approval may wait (set when the rule has an `approval` section)."""
    verify: Verify | None = None
    """The rule's verification, run after the action."""

    @classmethod
    def of(cls, rule: Rule) -> RuleFacts:
        return cls(name=rule.name, verify=rule.verify,
                   approval_timeout=rule.approval.timeout if rule.approval is not None else None)


@dataclass(frozen=True, kw_only=True)
class Decision:
    outcome: Outcome
    alert: Alert
    rule: RuleFacts | None = None
    """The rule decided on; None when no rule matched (or the alert was refused)."""
    step: int = 0
    request: ActionRequest | None = None
    reason: str = ""
    key: str | None = None
    trips_breaker: bool = False
    parent_id: str | None = None
    """For an escalation step: the remediation whose verification failed."""
    check_run: bool = False
    """A dry-run that still runs its play, in check mode (`check_in_dry_run`)."""
    unavailable: str = ""
    """Set when this is a dry-run only because a capability is missing (the
    reason, e.g. "no Kubernetes connection"). Such a dry-run counts for no
    guard: not for cooldown, rate limits or the breaker."""

    @property
    def rule_name(self) -> str:
        return self.rule.name if self.rule is not None else ""

    @property
    def creates_remediation(self) -> bool:
        return self.outcome in (Outcome.EXECUTED, Outcome.DRY_RUN, Outcome.AWAITING_APPROVAL)

    @property
    def counts(self) -> bool:
        """Whether this decision counts for cooldown, rate limits and the breaker."""
        return self.creates_remediation and not self.unavailable

    def summary(self) -> dict[str, Any]:
        """The decision as the webhook and `simulate` report it."""
        return {
            "alertname": self.alert.alertname,
            "fingerprint": self.alert.fingerprint,
            "rule": self.rule_name or None,
            "step": self.step,
            "outcome": self.outcome.value,
            "action": self.request.type if self.request else None,
            "target": self.request.target if self.request else None,
            "reason": self.reason,
        }
