"""What the engine decides, and the idempotency key that makes it happen once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.rules.model import Rule


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
class Decision:
    outcome: Outcome
    alert: Alert
    rule: Rule | None = None
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
