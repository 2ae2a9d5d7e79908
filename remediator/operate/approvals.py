"""A human in the loop: approve, decline, or let an approval request expire.

A rule with `approval: {required: true, timeout: 30m}` records its decision
as `awaiting_approval` and queues nothing. An approval decides the step
again, at that moment, through every guard (pause, namespaces,
`unless_firing`, breaker, cooldown, rate limits, and whether the target still
exists) with the request itself left out of the counts; only then is the
action queued. Anything else is
recorded with its outcome and the request's idempotency key is given back.
A request nobody answers within its timeout is `expired` (and its key given
back, so the alert's next notification asks again). A declined request keeps
its key: the same alert episode is not asked about again. An answer that
comes after the timeout is refused (409): the request is `expired`, whether
the scheduler got there first or not, and the attempt is an `operator` entry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from remediator.decide.engine import decide_step
from remediator.model.clock import Clock
from remediator.model.outcomes import PENDING, Outcome
from remediator.model.policy import Policy
from remediator.operate import operator_log
from remediator.operate.operator_log import Actor, clean_reason
from remediator.rules.model import RuleSet
from remediator.store.approving import AWAITING, ApprovalStore, Pending, Ruling
from remediator.store.audit.log import AuditRecord
from remediator.store.remediations import Remediation

log = logging.getLogger(__name__)

EXPIRY = Ruling(give_back_key=True, outcome=Outcome.EXPIRED, state=Outcome.EXPIRED.value,
                reason="nobody approved or declined in time; nothing done")
"""What an unanswered request ends in: `expired`, its key given back."""


class ApprovalError(Exception):
    """The request cannot be answered: unknown (404) or no longer awaiting (409)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, kw_only=True)
class Answer:
    remediation_id: str
    outcome: Outcome
    """approved (and queued), declined, or the guard that refused the approval."""
    reason: str
    queued: bool = False


Ruled = tuple[Ruling, Answer | ApprovalError]
"""What an answer writes, and what its caller is told (an error is raised after commit)."""


def approve(store: ApprovalStore, *, remediation_id: str, actor: Actor, reason: str,
            now: datetime, rules: RuleSet, policy: Policy,
            target_exists: bool | None = None) -> Answer:
    """Approve, re-check every guard now, and queue the action only if they all pass.

    `target_exists` is what the caller learnt from the cluster just before
    (`actions.target_check`): False refuses with `target_gone`; None (no
    cluster, or the read failed) leaves it to the worker's own 404 handling.
    Raises ApprovalError (404, 409) when there is nothing to approve.
    """
    reason = clean_reason(reason)

    def ruling(pending: Pending) -> Ruled:
        found = _awaiting(pending, now, verb="approve", actor=actor, reason=reason)
        if isinstance(found, tuple):
            return found
        return _approved(pending, found, actor=actor, reason=reason, now=now, rules=rules,
                         policy=policy, target_exists=target_exists)

    return _answered(store.answer(remediation_id=remediation_id, now=now, ruling=ruling))


def decline(store: ApprovalStore, *, remediation_id: str, actor: Actor, reason: str,
            now: datetime) -> Answer:
    """Decline: nothing runs, and this alert episode is not asked about again."""
    reason = clean_reason(reason)

    def ruling(pending: Pending) -> Ruled:
        current = _awaiting(pending, now, verb="decline", actor=actor, reason=reason)
        if isinstance(current, tuple):
            return current
        text = f"declined by {actor.name}" + (f": {reason}" if reason else "")
        return (Ruling(entry=_entry(current, "decline", actor, reason, now), uncount=True,
                       outcome=Outcome.DECLINED, reason=text, state=Outcome.DECLINED.value,
                       detail=actor.detail()),
                Answer(remediation_id=current.id, outcome=Outcome.DECLINED, reason=text))

    return _answered(store.answer(remediation_id=remediation_id, now=now, ruling=ruling))


def _answered(ruled: Ruled) -> Answer:
    """The answer once committed: its entry logged, a refusal raised."""
    written, answer = ruled
    if written.entry is not None:
        operator_log.announce(written.entry)
    if isinstance(answer, ApprovalError):
        raise answer
    return answer


def _awaiting(pending: Pending, now: datetime, *, verb: str, actor: Actor,
              reason: str) -> Remediation | Ruled:
    """The request, if it still awaits an answer; else what to write and why not.

    A request past its expiry is expired now, if the scheduler has not done it
    yet, and the refused attempt is audited (issue 20, item 9): raising inside
    the transaction rolled both back, so the request came back `awaiting` and
    nobody could tell someone had tried.
    """
    current, expires = pending.remediation, pending.expires
    if current is None:
        return Ruling(), ApprovalError(f"no remediation {pending.remediation_id!r}", 404)
    late = current.state == AWAITING and expires is not None and expires <= now
    if late or current.state == Outcome.EXPIRED.value:
        when = f" at {expires.isoformat(timespec='seconds')}" if expires is not None else ""
        attempt = _entry(current, verb, actor, reason, now,
                         refused=f"{verb} refused: the approval request expired{when}")
        written = replace(EXPIRY, entry=attempt) if late else Ruling(entry=attempt)
        return written, ApprovalError(
            f"remediation {current.id[:8]} is expired, not awaiting approval: the request "
            f"expired{when}; nothing was {verb}d (the alert's next notification asks "
            "again)", 409)
    if current.state != AWAITING:
        return Ruling(), ApprovalError(f"remediation {current.id[:8]} is {current.state}, "
                                       "not awaiting approval", 409)
    return current


def _approved(pending: Pending, current: Remediation, *, actor: Actor, reason: str,
              now: datetime, rules: RuleSet, policy: Policy,
              target_exists: bool | None) -> Ruled:
    """`approve` for a request that awaits an answer: the guards re-checked against
    `pending.state`, in the answer's transaction."""
    said = _entry(current, "approve", actor, reason, now)
    who = f"approved by {actor.name}" + (f": {reason}" if reason else "")
    rule = rules.by_name(current.rule)
    if current.resolved_at is not None:
        return _refused(said, current, Outcome.RESOLVED,
                        f"{who}; not run: the alert resolved meanwhile")
    if target_exists is False and not current.dry_run:
        return _refused(said, current, Outcome.TARGET_GONE,
                        f"{who}; not run: {current.request.target} no longer exists")
    if rule is None:
        return _refused(said, current, Outcome.DENIED,
                        f"{who}; not run: rule {current.rule!r} is no longer loaded")
    step = decide_step(current.alert, rule.model_copy(update={"approval": None}),
                       current.step, policy=policy, state=pending.state, now=now)
    if step.outcome is not Outcome.EXECUTED:
        why = step.reason
        if step.outcome is Outcome.PAUSED:  # quote the pause in force: who, and why
            why += f" ({operator_log.pause_note(pending.paused_reason)})"
        return _refused(said, current, step.outcome,
                        f"{who}; not run: {step.outcome.value}: {why}")
    text = f"{who}; guards re-checked, {step.reason}"
    return (Ruling(entry=said, queue=step, outcome=Outcome.APPROVED, reason=text,
                   state=PENDING, detail=actor.detail()),
            Answer(remediation_id=current.id, outcome=Outcome.APPROVED, reason=text,
                   queued=True))


def _refused(said: AuditRecord, current: Remediation, outcome: Outcome, reason: str) -> Ruled:
    return (Ruling(entry=said, give_back_key=True, outcome=outcome, reason=reason,
                   state=outcome.value),
            Answer(remediation_id=current.id, outcome=outcome, reason=reason))


def _entry(current: Remediation, action: str, actor: Actor, reason: str, now: datetime, *,
           refused: str | None = None) -> AuditRecord:
    """The operator's answer as an `operator` entry; a refused one says why in its reason
    (the operator's own reason is kept in `detail`)."""
    detail = None
    if refused is not None:
        detail = {"refused": refused, "given_reason": reason}
        reason = refused + (f" (reason given: {reason})" if reason else "")
    return operator_log.entry(
        action=action, actor=actor, reason=reason, now=now, detail=detail,
        remediation_id=current.id, rule=current.rule, step=current.step,
        alertname=current.alert.alertname, fingerprint=current.alert.fingerprint,
        namespace=current.request.namespace or "", target=current.request.target,
        labels=current.alert.labels)


def expire_due(store: ApprovalStore, now: datetime) -> list[Remediation]:
    """Mark every request past its timeout `expired`; return them."""
    return store.expire_due(now=now, expiry=EXPIRY)


async def expire_approvals(store: ApprovalStore, *, clock: Clock,
                           expired: Callable[[Remediation], None]) -> None:
    """Scheduler job: expire unanswered requests; `expired` is told of each (to count it)."""
    done = await asyncio.to_thread(expire_due, store, clock())
    for current in done:
        expired(current)
    if done:
        log.info("%d approval request(s) expired unanswered", len(done))
