"""decide(): one alert + the rules + what happened before -> decisions. Pure.

No I/O and no clock: the caller passes `now` and a `GuardState`. The order of
the guards is the order an on-call person reasons in: was this already
handled, are we paused, is the target legitimate, is it safe right now
(breaker, cooldown, rate limits), and only then act (or pretend to).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from remediator.decide import guards
from remediator.decide.decision import Decision, RuleFacts, idempotency_key, unavailable_key
from remediator.model.abc import GuardState
from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.model import Rule, RuleSet
from remediator.rules.specs import RenderError


def decide(alert: Alert, *, rules: RuleSet, policy: Policy, state: GuardState,
           now: datetime) -> list[Decision]:
    """Decisions for one alert: one per matching rule, `no_match` or `resolved`."""
    matched = rules.matching(alert.labels)
    if not alert.firing:
        return [Decision(outcome=Outcome.RESOLVED, alert=alert, rule=RuleFacts.of(rule),
                         reason="alert resolved") for rule in matched] or [
            Decision(outcome=Outcome.RESOLVED, alert=alert, reason="alert resolved")]
    if not matched:
        return [Decision(outcome=Outcome.NO_MATCH, alert=alert, reason="no rule matches")]
    decisions = []
    for rule in matched:
        decision = decide_step(alert, rule, 0, policy=policy, state=state, now=now)
        state.record(decision, now)
        decisions.append(decision)
    return decisions


def lookups(alerts: Iterable[Alert], rules: RuleSet) -> tuple[set[str], set[str]]:
    """The idempotency keys and targets deciding these alerts will ask about.

    Lets a store answer them in one query each before the decisions start.
    """
    keys: set[str] = set()
    targets: set[str] = set()
    for alert in alerts:
        if not alert.firing:
            continue
        for rule in rules.matching(alert.labels):
            key = idempotency_key(rule.name, alert.fingerprint, alert.starts_at, 0)
            keys.update((key, unavailable_key(key)))
            with contextlib.suppress(RenderError):  # denied later; nothing to look up
                targets.add(rule.action.render(alert.labels, alert.annotations).target)
    return keys, targets


def decide_step(alert: Alert, rule: Rule, step: int, *, policy: Policy, state: GuardState,
                now: datetime, parent_id: str | None = None) -> Decision:
    """The decision for ladder step `step` of `rule` (0 = the rule's action).

    Two kinds of dry-run, decided deliberately (see the README):
    - shadow mode (the rule's or the global `dry_run`) behaves like the real
      thing: it uses the idempotency key and counts for limits;
    - a dry-run forced by a missing capability (no cluster, no inventory)
      uses a key of its own and counts for nothing, so the real action can
      still happen once the capability exists.
    """
    spec = rule.step(step)
    real_key = idempotency_key(rule.name, alert.fingerprint, alert.starts_at, step)
    shadow = ("global dry_run" if policy.dry_run else "rule dry_run" if rule.dry_run
              else None)
    missing = (policy.missing_capability(spec.type)
               if spec is not None and shadow is None else None)
    key = unavailable_key(real_key) if missing else real_key
    facts = RuleFacts.of(rule)

    def verdict(outcome: Outcome, reason: str, request: ActionRequest | None = None,
                *, trips_breaker: bool = False, check_run: bool = False) -> Decision:
        return Decision(outcome=outcome, alert=alert, rule=facts, step=step, request=request,
                        reason=reason, key=key, trips_breaker=trips_breaker,
                        parent_id=parent_id, check_run=check_run, unavailable=missing or "")

    if spec is None:
        return verdict(Outcome.EXHAUSTED, f"no escalation step {step}")
    if state.is_duplicate(key) or (missing and state.is_duplicate(real_key)):
        return verdict(Outcome.DUPLICATE, "already decided for this alert and step")
    if state.paused():
        return verdict(Outcome.PAUSED, "remediation is paused by an operator")
    try:
        request = spec.render(alert.labels, alert.annotations)
    except RenderError as error:
        return verdict(Outcome.DENIED, str(error))
    denial = _target_denial(alert, rule, request, policy=policy, state=state)
    if denial:
        return verdict(Outcome.DENIED, denial, request)
    outcome, reason, trips = _limits(request, rule, shadow or missing, shadow=shadow is not None,
                                     policy=policy, state=state, now=now)
    check_run = (outcome is Outcome.DRY_RUN and not missing
                 and bool(request.params.get("check_in_dry_run")))
    if check_run:
        reason += " in check mode"
    approval = _approval_wait(rule, request) if outcome is Outcome.EXECUTED else None
    if approval is not None:
        outcome, reason = Outcome.AWAITING_APPROVAL, approval
    return verdict(outcome, reason, request, trips_breaker=trips, check_run=check_run)


def breaker_state(state: GuardState, policy: Policy, now: datetime, *,
                  include_dry_run: bool = False) -> guards.BreakerVerdict:
    """The circuit breaker as of `now`, from what `state` remembers."""
    snapshot = state.breaker()
    since = guards.breaker_window_start(snapshot, policy, now)
    return guards.breaker_verdict(
        snapshot, policy=policy, now=now,
        actions=state.actions_since(since, rule=None, include_dry_run=include_dry_run),
        failures=state.failures_since(since))


def breaker_stops_queued(state: GuardState, policy: Policy,
                         now: datetime) -> guards.BreakerVerdict:
    """Whether the breaker stops an action decided earlier and queued since.

    Only an open (tripped, cooling down) breaker or too many failures stop
    it: the number of actions already counted this one when it was decided,
    and counting it again would cancel the last action the breaker allowed.
    """
    snapshot = state.breaker()
    since = guards.breaker_window_start(snapshot, policy, now)
    return guards.breaker_verdict(snapshot, policy=policy, now=now, actions=0,
                                  failures=state.failures_since(since))


def _limits(request: ActionRequest, rule: Rule, dry_run: str | None, *, shadow: bool,
            policy: Policy, state: GuardState, now: datetime) -> tuple[Outcome, str, bool]:
    """Breaker, cooldown, rule and global rate limits; then act or pretend to.

    Shadow dry-runs count each other (they rehearse the limits); a dry-run
    forced by a missing capability sees what the real action would see.
    """
    include_dry_run = shadow
    breaker = breaker_state(state, policy, now, include_dry_run=include_dry_run)
    if breaker.open:
        return Outcome.BREAKER_OPEN, breaker.reason, breaker.trip
    last = state.last_action_at(request.target, include_dry_run=include_dry_run)
    cooldown = rule.limits.cooldown
    if last is not None and guards.cooldown_remaining(last, cooldown, now) is not None:
        return Outcome.COOLDOWN, (f"{request.target} was acted on {_seconds(now - last)} ago;"
                                  f" cooldown {_seconds(cooldown)}"), False
    per = rule.limits.per
    count = state.actions_since(now - per, rule=rule.name, include_dry_run=include_dry_run)
    if guards.rate_exceeded(count, rule.limits.max):
        return Outcome.RATE_LIMITED, (f"rule limit: {count} actions in {_seconds(per)}"
                                      f" (max {rule.limits.max})"), False
    per = policy.global_rate_per
    count = state.actions_since(now - per, rule=None, include_dry_run=include_dry_run)
    if guards.rate_exceeded(count, policy.global_rate_max):
        return Outcome.RATE_LIMITED, (f"global limit: {count} actions in {_seconds(per)}"
                                      f" (max {policy.global_rate_max})"), False
    if dry_run:
        return Outcome.DRY_RUN, f"{dry_run}: would run {request.type} on {request.target}", False
    return Outcome.EXECUTED, f"{request.type} on {request.target} queued", False


def _target_denial(alert: Alert, rule: Rule, request: ActionRequest, *, policy: Policy,
                   state: GuardState) -> str | None:
    """Why the rendered target is not a legitimate one; None when it is.

    The namespace policy, the play's inventory `limit`, and the rule's
    `unless_firing` alerts (another alert explains this one: leave it alone).
    """
    denial = (guards.namespace_denial(request.namespace, policy)
              or guards.limit_denial(request, policy.inventory_hosts))
    if denial or not rule.unless_firing:
        return denial
    try:
        preconditions = guards.render_matchers(rule.unless_firing, alert.labels,
                                               alert.annotations)
    except ValueError as error:
        return f"unless_firing: {error}"
    firing = state.firing_alerts(guards.alertnames(preconditions))
    blocker = guards.blocking_alert(preconditions,
                                    (labels for labels in firing if labels != alert.labels))
    if blocker is None:
        return None
    name = blocker.get("alertname", "an alert")
    return f"unless_firing: {name} is firing"


def _approval_wait(rule: Rule, request: ActionRequest) -> str | None:
    """The reason of an action that waits for a human, or None when it needs none."""
    if rule.approval is None or not rule.approval.applies_to(request.namespace):
        return None
    timeout = int(rule.approval.timeout.total_seconds())
    within = f"{timeout // 60}m" if timeout % 60 == 0 else f"{timeout}s"
    return f"awaiting approval within {within}: would run {request.type} on {request.target}"


def _seconds(delta: timedelta) -> str:
    return f"{max(int(delta.total_seconds()), 0)}s"
