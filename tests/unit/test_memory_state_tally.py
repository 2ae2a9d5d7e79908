"""MemoryState answers rate-limit and cooldown questions from tallies, not by
walking its history: the answers must be those of the walk, whatever happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.decide.decision import Decision, RuleFacts
from remediator.decide.state import MemoryState
from remediator.model.actions import ActionRequest
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = ["restart-pod", "rollout-restart"]
TARGETS = ["pod/apps/web-1", "pod/apps/web-2", "deployment/apps/api"]


ALERT = Alert(status="firing", starts_at=T0,  # type: ignore[arg-type]
              labels={"alertname": "X"})

recorded = st.tuples(
    st.integers(0, 120),  # minutes after T0
    st.sampled_from(RULES),
    st.sampled_from(TARGETS),
    st.sampled_from([Outcome.EXECUTED, Outcome.DRY_RUN, Outcome.AWAITING_APPROVAL,
                     Outcome.DUPLICATE]),
    st.booleans(),  # forced by a missing capability (counts for nothing)
)
operation = st.one_of(st.tuples(st.just("record"), recorded),
                      st.tuples(st.just("cancel"), st.integers(0, 40)))


def _decision(serial: int, rule: str, target: str, outcome: Outcome,
              unavailable: bool) -> Decision:
    kind, namespace, name = target.split("/")
    request = ActionRequest(type="kubernetes.delete_pod", kind=kind, namespace=namespace,
                            name=name)
    return Decision(outcome=outcome, alert=ALERT, rule=RuleFacts(name=rule), request=request,
                    key=f"key-{serial}", unavailable="no cluster" if unavailable else "")


def _walked_count(state: MemoryState, since: datetime, rule: str | None,
                  include_dry_run: bool) -> int:
    return sum(1 for a in state.actions
               if a.counts and (include_dry_run or not a.dry_run) and a.at >= since
               and (rule is None or a.rule == rule))


def _walked_latest(state: MemoryState, target: str, include_dry_run: bool) -> datetime | None:
    return max((a.at for a in state.actions
                if a.counts and (include_dry_run or not a.dry_run) and a.target == target),
               default=None)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=40), st.integers(0, 130))
def test_counts_and_latest_times_are_those_of_walking_the_history(
        operations: list[tuple[str, object]], since_minutes: int) -> None:
    state = MemoryState()
    for serial, (verb, argument) in enumerate(operations):
        if verb == "record":
            minutes, rule, target, outcome, unavailable = argument  # type: ignore[misc]
            state.record(_decision(serial, rule, target, outcome, unavailable),
                         T0 + timedelta(minutes=minutes))
        else:
            state.cancel(f"key-{argument}")
    since = T0 + timedelta(minutes=since_minutes)
    for include_dry_run in (False, True):
        for rule in (None, *RULES):
            assert state.actions_since(since, rule=rule, include_dry_run=include_dry_run) \
                == _walked_count(state, since, rule, include_dry_run)
        for target in TARGETS:
            assert state.last_action_at(target, include_dry_run=include_dry_run) \
                == _walked_latest(state, target, include_dry_run)


def test_a_cancelled_action_stops_counting_and_is_no_longer_the_latest() -> None:
    state = MemoryState()
    state.record(_decision(1, "restart-pod", TARGETS[0], Outcome.EXECUTED, False), T0)
    state.record(_decision(2, "restart-pod", TARGETS[0], Outcome.EXECUTED, False),
                 T0 + timedelta(minutes=5))
    state.cancel("key-2")
    assert state.actions_since(T0, rule=None, include_dry_run=False) == 1
    assert state.last_action_at(TARGETS[0], include_dry_run=False) == T0


def test_history_given_at_construction_is_tallied() -> None:
    seeded = MemoryState()
    seeded.record(_decision(1, "restart-pod", TARGETS[1], Outcome.DRY_RUN, False), T0)
    state = MemoryState(actions=list(seeded.actions))
    assert state.actions_since(T0, rule="restart-pod", include_dry_run=True) == 1
    assert state.actions_since(T0, rule="restart-pod", include_dry_run=False) == 0
    assert state.last_action_at(TARGETS[1], include_dry_run=True) == T0
