"""Operator controls shared by the API and the CLI: status, pause, breaker reset.

They act on the database, not on one process, so every replica obeys them
and `remediator breaker reset` works against a running service.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from remediator.decide.engine import breaker_state
from remediator.model.policy import Policy
from remediator.store.operating import OperatorStore

log = logging.getLogger(__name__)


def status(store: OperatorStore, policy: Policy, now: datetime) -> dict[str, Any]:
    """Paused? Breaker open (and why)? Queue depth? Approvals waiting? What an on-call
    person asks first."""
    found = store.controls(breaker=lambda state: breaker_state(state, policy, now))
    return {
        "paused": found.paused,
        "paused_reason": found.paused_reason,
        "breaker_open": found.breaker.open,
        "breaker_reason": found.breaker.reason,
        "jobs_queued": found.jobs_queued,
        "awaiting_approval": found.awaiting_approval,
        "dry_run": dry_run_status(policy),
    }


def dry_run_status(policy: Policy) -> dict[str, Any]:
    """Which actions are only pretended, and why: shadow mode or a missing capability.

    `global` is the operator's switch; `capabilities_missing` lists what is
    not connected (e.g. "kubernetes": no cluster, so every Kubernetes action
    is a dry-run). `all` is true when nothing at all can really run.
    """
    missing = policy.capabilities_missing()
    return {"global": policy.dry_run, "capabilities_missing": missing,
            "all": policy.dry_run or len(missing) == 2}


def reset_breaker(store: OperatorStore, now: datetime, who: str) -> None:
    """Close the breaker without an operator entry (tests, tools); operators use
    `operator_log.reset_breaker`, which audits it."""
    store.reset_breaker(reason=f"reset by {who}", now=now)
    log.warning("circuit breaker reset by %s", who)


def set_paused(store: OperatorStore, paused: bool, reason: str, now: datetime) -> None:
    """Pause or resume without an operator entry (tests, tools); operators use
    `operator_log.pause`/`resume`, which audit it."""
    if paused:
        store.pause(reason=reason, now=now)
    else:
        store.resume(reason=reason, now=now)
    log.warning("remediation %s: %s", "paused" if paused else "resumed", reason)
