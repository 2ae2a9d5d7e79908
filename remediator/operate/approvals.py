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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from remediator.decide.decision import Decision
from remediator.decide.engine import decide_step
from remediator.decide.guards import BreakerSnapshot
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.operate.operator_log import Actor, clean_reason
from remediator.operate.operator_log import record as record_operator
from remediator.rules.model import RuleSet
from remediator.store import Database, jobs, recorder, remediations
from remediator.store.guard_state import DatabaseState
from remediator.store.remediations import Remediation
from remediator.store.tables import remediations as table

if TYPE_CHECKING:
    from remediator.app.services import Services

log = logging.getLogger(__name__)

AWAITING = Outcome.AWAITING_APPROVAL.value
_NOT_ACTIONS = (AWAITING, Outcome.DECLINED.value, Outcome.EXPIRED.value)


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


class RecheckState:
    """Guard state for re-deciding an approved step: the request itself does not count.

    Nor do other requests still awaiting an answer, or declined and expired
    ones: none of them acted.
    """

    def __init__(self, connection: Connection, remediation_id: str) -> None:
        self._connection = connection
        self._id = remediation_id
        self._inner = DatabaseState(connection)

    def _acted(self, include_dry_run: bool) -> list[object]:
        conditions: list[object] = [table.c.id != self._id, table.c.counts.is_(True),
                                    table.c.state.not_in(_NOT_ACTIONS)]
        if not include_dry_run:
            conditions.append(table.c.dry_run.is_(False))
        return conditions

    def is_duplicate(self, key: str) -> bool:
        return False

    def paused(self) -> bool:
        return self._inner.paused()

    def breaker(self) -> BreakerSnapshot:
        return self._inner.breaker()

    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None:
        stmt = select(func.max(table.c.created_at)).where(
            table.c.target == target, *self._acted(include_dry_run))  # type: ignore[arg-type]
        found: datetime | None = self._connection.execute(stmt).scalar()
        return found

    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int:
        stmt = select(func.count()).select_from(table).where(
            table.c.created_at >= since, *self._acted(include_dry_run))  # type: ignore[arg-type]
        if rule is not None:
            stmt = stmt.where(table.c.rule == rule)
        return int(self._connection.execute(stmt).scalar_one())

    def failures_since(self, since: datetime) -> int:
        return self._inner.failures_since(since)

    def firing_alerts(self, alertnames: frozenset[str] | None) -> Iterable[Mapping[str, str]]:
        return self._inner.firing_alerts(alertnames)

    def record(self, decision: Decision, now: datetime) -> None:
        return None


def _awaiting(connection: Connection, remediation_id: str, now: datetime, *, verb: str,
              actor: Actor, reason: str) -> Remediation | ApprovalError:
    """The request, if it still awaits an answer; else why not (the caller raises it
    after its transaction, so what is written here is kept).

    A request past its expiry is expired now, if the scheduler has not done it
    yet, and the refused attempt is audited (issue 20, item 9): raising inside
    the transaction rolled both back, so the request came back `awaiting` and
    nobody could tell someone had tried.
    """
    current = remediations.get(connection, remediation_id)
    if current is None:
        return ApprovalError(f"no remediation {remediation_id!r}", 404)
    expires = connection.execute(select(table.c.approval_expires).where(
        table.c.id == remediation_id)).scalar()
    late = current.state == AWAITING and expires is not None and expires <= now
    if late or current.state == Outcome.EXPIRED.value:
        when = f" at {expires.isoformat(timespec='seconds')}" if expires is not None else ""
        _log(connection, current, verb, actor, reason, now,
             refused=f"{verb} refused: the approval request expired{when}")
        if late:
            _expire(connection, current, now)
        return ApprovalError(f"remediation {remediation_id[:8]} is expired, not awaiting "
                             f"approval: the request expired{when}; nothing was {verb}d "
                             "(the alert's next notification asks again)", 409)
    if current.state != AWAITING:
        return ApprovalError(f"remediation {remediation_id[:8]} is {current.state}, "
                             "not awaiting approval", 409)
    return current


def approve(database: Database, *, remediation_id: str, actor: Actor, reason: str,
            now: datetime, rules: RuleSet, policy: Policy,
            target_exists: bool | None = None) -> Answer:
    """Approve, re-check every guard now, and queue the action only if they all pass.

    `target_exists` is what the caller learnt from the cluster just before
    (`actions.target_check`): False refuses with `target_gone`; None (no
    cluster, or the read failed) leaves it to the worker's own 404 handling.
    Raises ApprovalError (404, 409) when there is nothing to approve.
    """
    reason = clean_reason(reason)
    with database.writing() as connection:
        found = _awaiting(connection, remediation_id, now, verb="approve", actor=actor,
                          reason=reason)
        if not isinstance(found, ApprovalError):
            _log(connection, found, "approve", actor, reason, now)
            return _approved(connection, found, actor=actor, reason=reason, now=now,
                             rules=rules, policy=policy, target_exists=target_exists)
    raise found


def _approved(connection: Connection, current: Remediation, *, actor: Actor, reason: str,
              now: datetime, rules: RuleSet, policy: Policy,
              target_exists: bool | None) -> Answer:
    """`approve` for a request that awaits an answer (inside its transaction)."""
    who = f"approved by {actor.name}" + (f": {reason}" if reason else "")
    rule = rules.by_name(current.rule)
    if current.resolved_at is not None:
        return _refused(connection, current, now, Outcome.RESOLVED,
                        f"{who}; not run: the alert resolved meanwhile")
    if target_exists is False and not current.dry_run:
        return _refused(connection, current, now, Outcome.TARGET_GONE,
                        f"{who}; not run: {current.request.target} no longer exists")
    if rule is None:
        return _refused(connection, current, now, Outcome.DENIED,
                        f"{who}; not run: rule {current.rule!r} is no longer loaded")
    step = decide_step(current.alert, rule.model_copy(update={"approval": None}),
                       current.step, policy=policy,
                       state=RecheckState(connection, current.id), now=now)
    if step.outcome is not Outcome.EXECUTED:
        return _refused(connection, current, now, step.outcome,
                        f"{who}; not run: {step.outcome.value}: {step.reason}")
    jobs.enqueue(connection, kind=jobs.ACTION, remediation_id=current.id, run_at=now,
                 payload=recorder.verify_payload(step))
    text = f"{who}; guards re-checked, {step.reason}"
    recorder.record_outcome(connection, current, outcome=Outcome.APPROVED, reason=text,
                            now=now, state="pending", detail=actor.detail())
    return Answer(remediation_id=current.id, outcome=Outcome.APPROVED, reason=text,
                  queued=True)


def decline(database: Database, *, remediation_id: str, actor: Actor, reason: str,
            now: datetime) -> Answer:
    """Decline: nothing runs, and this alert episode is not asked about again."""
    reason = clean_reason(reason)
    with database.writing() as connection:
        current = _awaiting(connection, remediation_id, now, verb="decline", actor=actor,
                            reason=reason)
        if not isinstance(current, ApprovalError):
            _log(connection, current, "decline", actor, reason, now)
            remediations.uncount(connection, current.id)
            text = f"declined by {actor.name}" + (f": {reason}" if reason else "")
            recorder.record_outcome(connection, current, outcome=Outcome.DECLINED,
                                    reason=text, now=now, state=Outcome.DECLINED.value,
                                    detail=actor.detail())
            return Answer(remediation_id=current.id, outcome=Outcome.DECLINED, reason=text)
    raise current


def expire_due(database: Database, now: datetime) -> list[Remediation]:
    """Mark every request past its timeout `expired`; return them."""
    with database.writing() as connection:
        ids = list(connection.execute(select(table.c.id).where(
            table.c.state == AWAITING, table.c.approval_expires <= now)).scalars())
        expired = [r for r in (remediations.get(connection, i) for i in ids) if r is not None]
        for current in expired:
            _expire(connection, current, now)
    return expired


def _expire(connection: Connection, current: Remediation, now: datetime) -> None:
    remediations.release_key(connection, current.id)
    recorder.record_outcome(connection, current, outcome=Outcome.EXPIRED, now=now,
                            state=Outcome.EXPIRED.value,
                            reason="nobody approved or declined in time; nothing done")


def _refused(connection: Connection, current: Remediation, now: datetime, outcome: Outcome,
             reason: str) -> Answer:
    remediations.release_key(connection, current.id)
    recorder.record_outcome(connection, current, outcome=outcome, reason=reason, now=now,
                            state=outcome.value)
    return Answer(remediation_id=current.id, outcome=outcome, reason=reason)


def _log(connection: Connection, current: Remediation, action: str, actor: Actor, reason: str,
         now: datetime, *, refused: str | None = None) -> None:
    """The operator's answer as an `operator` entry; a refused one says why in its reason
    (the operator's own reason is kept in `detail`)."""
    detail = None
    if refused is not None:
        detail = {"refused": refused, "given_reason": reason}
        reason = refused + (f" (reason given: {reason})" if reason else "")
    record_operator(connection, action=action, actor=actor, reason=reason, now=now,
                    detail=detail, remediation_id=current.id, rule=current.rule, step=current.step,
                    alertname=current.alert.alertname, fingerprint=current.alert.fingerprint,
                    namespace=current.request.namespace or "", target=current.request.target,
                    labels=current.alert.labels)


async def expire_approvals(services: Services) -> None:
    """Scheduler job: expire unanswered requests (and count them)."""
    expired = await asyncio.to_thread(expire_due, services.database, services.clock())
    for current in expired:
        services.metrics.approvals.approvals.labels(rule=current.rule,
                                                    outcome=Outcome.EXPIRED.value).inc()
    if expired:
        log.info("%d approval request(s) expired unanswered", len(expired))
