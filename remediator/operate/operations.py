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
from remediator.store import Database, controls, jobs
from remediator.store.guard_state import DatabaseState

log = logging.getLogger(__name__)


def status(database: Database, policy: Policy, now: datetime) -> dict[str, Any]:
    """Paused? Breaker open (and why)? Queue depth? What an on-call person asks first."""
    with database.reading() as connection:
        verdict = breaker_state(DatabaseState(connection), policy, now)
        values = controls.read(connection)
        paused = values.get(controls.PAUSED)
        queued = jobs.depth(connection)
    return {
        "paused": bool(paused and paused[0]),
        "paused_reason": paused[2] if paused and paused[0] else "",
        "breaker_open": verdict.open,
        "breaker_reason": verdict.reason,
        "jobs_queued": queued,
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


def reset_breaker(database: Database, now: datetime, who: str) -> None:
    with database.writing() as connection:
        controls.set_control(connection, controls.BREAKER, flag=False, at=now,
                             reason=f"reset by {who}")
        controls.set_control(connection, controls.BREAKER_RESET, flag=True, at=now,
                             reason=f"reset by {who}")
    log.warning("circuit breaker reset by %s", who)


def set_paused(database: Database, paused: bool, reason: str, now: datetime) -> None:
    with database.writing() as connection:
        controls.set_control(connection, controls.PAUSED, flag=paused, at=now, reason=reason)
    log.warning("remediation %s: %s", "paused" if paused else "resumed", reason)
