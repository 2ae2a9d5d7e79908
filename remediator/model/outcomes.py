"""The one outcome vocabulary used by the API, metrics, page and CLI.

Keeping every name in one enum means a typo cannot create a new outcome that
dashboards and alert rules silently miss.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    # Decisions taken when an alert arrives.
    EXECUTED = "executed"
    DRY_RUN = "dry_run"
    DUPLICATE = "duplicate"
    COOLDOWN = "cooldown"
    RATE_LIMITED = "rate_limited"
    BREAKER_OPEN = "breaker_open"
    DENIED = "denied"
    PAUSED = "paused"
    NO_MATCH = "no_match"
    REJECTED = "rejected"
    # Results of running an action.
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TARGET_GONE = "target_gone"
    # Verification after an action.
    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    UNKNOWN = "unknown"
    # Escalation ladder ran out of steps.
    EXHAUSTED = "exhausted"
    # Alert lifecycle.
    RESOLVED = "resolved"
    # A human in the loop (rules with `approval`).
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"
    # Something an operator did (pause, resume, breaker reset, reload, approve...).
    OPERATOR = "operator"
    # A rule's `when` / `only_if` / `unless` did not hold just before acting.
    PRECONDITION_FAILED = "precondition_failed"
    # GitOps (Argo CD, Flux) owns the target: refused, written to git instead, or undone.
    GITOPS_MANAGED = "gitops_managed"
    PROPOSED = "proposed"
    REVERTED_BY_GITOPS = "reverted_by_gitops"


DECISIONS = frozenset(
    {
        Outcome.EXECUTED,
        Outcome.DRY_RUN,
        Outcome.DUPLICATE,
        Outcome.COOLDOWN,
        Outcome.RATE_LIMITED,
        Outcome.BREAKER_OPEN,
        Outcome.DENIED,
        Outcome.PAUSED,
        Outcome.NO_MATCH,
        Outcome.REJECTED,
        Outcome.AWAITING_APPROVAL,
    }
)
ACTION_RESULTS = frozenset({Outcome.SUCCEEDED, Outcome.FAILED, Outcome.TARGET_GONE})
VERIFICATIONS = frozenset({Outcome.VERIFIED, Outcome.UNVERIFIED, Outcome.UNKNOWN,
                           Outcome.REVERTED_BY_GITOPS})
APPROVALS = frozenset({Outcome.APPROVED, Outcome.DECLINED, Outcome.EXPIRED})


PENDING = "pending"
"""A remediation's state while its action is queued or running: no outcome yet."""

NEVER_A_STATE = frozenset(
    {
        Outcome.EXECUTED,  # an executed decision's remediation is `pending` until it ran
        Outcome.APPROVED,  # likewise once approved: `pending`, then the action's result
        Outcome.DUPLICATE,
        Outcome.NO_MATCH,
        Outcome.REJECTED,
        Outcome.OPERATOR,
    }
)
"""Outcomes that are audited but never a remediation's state: decisions that create no
remediation, or that hand it on to `pending`."""

REMEDIATION_STATES: tuple[str, ...] = (
    PENDING, *(o.value for o in Outcome if o not in NEVER_A_STATE))
"""Every state a remediation (a ladder step) can be in, `pending` first then in the
vocabulary's order: what the console's and the API's state filter offer. Any new outcome
is a state unless it is listed in NEVER_A_STATE."""
