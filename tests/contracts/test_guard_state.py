"""One `GuardState` contract (`remediator.model.abc`), every implementation: MemoryState,
DatabaseState on SQLite and PostgreSQL, and `store.approving.RecheckState` on both databases.

In the APScheduler manner: every test runs against every backend through a
small harness that says what happened (decided, failed, cancelled, resolved,
breaker reset). Bug 1 of issue 7 was a divergence between two of them (the
database counted failures by `updated_at`, which resolving bumps).

RecheckState answers the guards when a human approves a request: the
`approval-*` backends record every decision as an approval request and
approve it at once, so each case below also holds for an approved action
(issue 20). The cases at the end are RecheckState's own: what changed
between the request and the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.store import Database
from remediator.store.tables import remediations as remediations_table

from .guard_backends import (
    T0,
    ApprovalBackend,
    Backend,
    DatabaseBackend,
    MemoryBackend,
    crash,
    open_database,
    outcomes,
)


@pytest.fixture(params=["memory", "sqlite",
                        pytest.param("postgres", marks=pytest.mark.postgres),
                        "approval-sqlite",
                        pytest.param("approval-postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    approval, _, kind = request.param.rpartition("-")
    database = open_database(request, tmp_path, kind)
    yield ApprovalBackend(database) if approval else DatabaseBackend(database)
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def approvals_backend(request: pytest.FixtureRequest,
                      tmp_path: Path) -> Iterator[ApprovalBackend]:
    """RecheckState's own cases (only the databases keep approval requests)."""
    database = open_database(request, tmp_path, request.param)
    yield ApprovalBackend(database)
    database.dispose()


# -- duplicate, cooldown, rate ---------------------------------------------

def test_duplicate(backend: Backend) -> None:
    assert outcomes(backend, [crash(), crash()], T0) == [Outcome.EXECUTED, Outcome.DUPLICATE]


def test_cooldown_per_target(backend: Backend) -> None:
    backend.decide(crash(), T0, Policy())
    later = crash(starts=T0 + timedelta(minutes=5))
    assert backend.decide(later, T0 + timedelta(minutes=5), Policy()).outcome is Outcome.COOLDOWN
    again = crash(starts=T0 + timedelta(minutes=11))
    assert backend.decide(again, T0 + timedelta(minutes=11), Policy()).outcome is (
        Outcome.EXECUTED)


def test_rule_rate_limit(backend: Backend) -> None:
    pods = [crash(f"web-{i}") for i in range(4)]
    assert outcomes(backend, pods, T0) == [Outcome.EXECUTED] * 3 + [Outcome.RATE_LIMITED]


# -- breaker counting --------------------------------------------------------

def test_breaker_trips_on_actions(backend: Backend) -> None:
    policy = Policy(breaker_max_actions=2)
    got = outcomes(backend, [crash("a"), crash("b"), crash("c")], T0, policy)
    assert got == [Outcome.EXECUTED, Outcome.EXECUTED, Outcome.BREAKER_OPEN]


def test_breaker_counts_failures_when_they_happened(backend: Backend) -> None:
    """Issue 7, bug 1: reset, then resolves, must not re-open the breaker."""
    policy = Policy(breaker_max_failures=2)
    first, second = crash("a"), crash("b")
    for alert in (first, second):
        decision = backend.decide(alert, T0, policy)
        backend.fail(decision, T0 + timedelta(minutes=1))
    assert backend.decide(crash("c"), T0 + timedelta(minutes=2), policy).outcome is (
        Outcome.BREAKER_OPEN)
    backend.reset_breaker(T0 + timedelta(minutes=3))
    backend.resolve(first, T0 + timedelta(minutes=4))
    backend.resolve(second, T0 + timedelta(minutes=4))
    assert backend.decide(crash("d"), T0 + timedelta(minutes=5), policy).outcome is (
        Outcome.EXECUTED)


def test_failures_outside_the_window_do_not_count(backend: Backend) -> None:
    policy = Policy(breaker_max_failures=1, breaker_window=timedelta(minutes=30))
    backend.fail(backend.decide(crash("a"), T0, policy), T0)
    late = T0 + timedelta(minutes=31)
    assert backend.decide(crash("b"), late, policy).outcome is Outcome.EXECUTED


# -- cancelled actions -------------------------------------------------------

def test_cancelled_action_counts_for_nothing(backend: Backend) -> None:
    """Issue 7, bug 2: cancelled by pause, it gave its key back and must not
    count for cooldown, rate limit or breaker either."""
    policy = Policy(breaker_max_actions=2)
    cancelled = backend.decide(crash(), T0, policy)
    backend.cancel(cancelled, T0 + timedelta(seconds=10))
    now = T0 + timedelta(seconds=60)
    assert backend.decide(crash(), now, policy).outcome is Outcome.EXECUTED  # no cooldown
    assert backend.decide(crash("b"), now, policy).outcome is Outcome.EXECUTED  # no breaker


def test_cancelled_actions_do_not_use_the_rate_limit(backend: Backend) -> None:
    for i in range(3):
        backend.cancel(backend.decide(crash(f"web-{i}"), T0, Policy()), T0)
    pods = [crash(f"x-{i}") for i in range(3)]
    assert outcomes(backend, pods, T0) == [Outcome.EXECUTED] * 3


# -- dry-runs: shadow mode versus a missing capability ------------------------

NO_CLUSTER = Policy(executable=frozenset({"ansible.playbook"}))


def test_capability_dry_run_keeps_the_key_for_the_real_action(backend: Backend) -> None:
    """Issue 7, bug 3: with no cluster, the episode was `duplicate` forever after."""
    forced = backend.decide(crash(), T0, NO_CLUSTER)
    assert (forced.outcome, forced.reason.split(":")[0]) == (
        Outcome.DRY_RUN, "no Kubernetes connection")
    assert backend.decide(crash(), T0, NO_CLUSTER).outcome is Outcome.DUPLICATE
    assert backend.decide(crash(), T0 + timedelta(minutes=1), Policy()).outcome is (
        Outcome.EXECUTED)


def test_capability_dry_runs_count_for_no_limit(backend: Backend) -> None:
    tests = [crash(f"test-{i}") for i in range(5)]
    assert outcomes(backend, tests, T0, NO_CLUSTER) == [Outcome.DRY_RUN] * 5
    real = [crash(f"web-{i}") for i in range(3)]
    assert outcomes(backend, real, T0) == [Outcome.EXECUTED] * 3


def test_shadow_mode_behaves_like_the_real_thing(backend: Backend) -> None:
    shadow = Policy(dry_run=True)
    first = backend.decide(crash(), T0, shadow)
    assert (first.outcome, first.reason.split(":")[0]) == (Outcome.DRY_RUN, "global dry_run")
    assert backend.decide(crash(), T0, shadow).outcome is Outcome.DUPLICATE
    pods = [crash(f"x-{i}") for i in range(3)]
    assert outcomes(backend, pods, T0, shadow) == [Outcome.DRY_RUN] * 2 + [
        Outcome.RATE_LIMITED]


def test_cooldown_after_a_capability_dry_run_does_not_apply(backend: Backend) -> None:
    backend.decide(crash(), T0, NO_CLUSTER)
    fresh = crash(starts=T0 + timedelta(minutes=1))
    assert backend.decide(fresh, T0 + timedelta(minutes=1), Policy()).outcome is (
        Outcome.EXECUTED)


# -- pause and unless_firing --------------------------------------------------

def test_paused(backend: Backend) -> None:
    backend.pause(True, T0)
    assert backend.decide(crash(), T0, Policy()).outcome is Outcome.PAUSED
    backend.pause(False, T0)
    assert backend.decide(crash(), T0, Policy()).outcome is Outcome.EXECUTED


def test_unless_firing_blocks_until_the_blocker_resolves(backend: Backend) -> None:
    backend.node_down("worker-1", "firing", T0)
    backend.node_down("worker-2", "firing", T0)
    blocked = backend.decide(crash(), T0, Policy())
    assert (blocked.outcome, blocked.reason) == (
        Outcome.DENIED, "unless_firing: KubeNodeNotReady is firing")
    backend.node_down("worker-1", "resolved", T0 + timedelta(minutes=1))
    assert backend.decide(crash(), T0 + timedelta(minutes=1), Policy()).outcome is (
        Outcome.EXECUTED)


def test_unless_firing_reads_a_label_value_as_text(backend: Backend) -> None:
    backend.node_down("worker-1", "firing", T0)
    assert backend.decide(crash(node=".*"), T0, Policy()).outcome is Outcome.EXECUTED


def test_database_keeps_what_the_guards_need(database: Database) -> None:
    """The columns behind the contract: failure time and whether a row counts."""
    backend = DatabaseBackend(database)
    decision = backend.decide(crash(), T0, Policy())
    backend.fail(decision, T0 + timedelta(minutes=1))
    backend.resolve(crash(), T0 + timedelta(minutes=9))
    backend.decide(crash("b"), T0, NO_CLUSTER)
    with database.reading() as connection:
        rows = connection.execute(select(
            remediations_table.c.target, remediations_table.c.failed_at,
            remediations_table.c.counts).order_by(remediations_table.c.target)).all()
    assert [tuple(row) for row in rows] == [
        ("pod/apps-a/b", None, False),
        ("pod/apps-a/web-1", T0 + timedelta(minutes=1), True)]


# -- RecheckState's own: what changed between the request and the answer -------------

def test_a_request_does_not_count_against_its_own_approval(
        approvals_backend: ApprovalBackend) -> None:
    policy = Policy(breaker_max_actions=1)
    asked = approvals_backend.request(crash(), T0, policy)
    assert approvals_backend.answer(asked, T0, policy).outcome is Outcome.EXECUTED
    assert approvals_backend.decide(crash("b"), T0, policy).outcome is Outcome.BREAKER_OPEN


def test_requests_awaiting_or_declined_count_for_nothing_approved_ones_do(
        approvals_backend: ApprovalBackend) -> None:
    """Asked under a looser breaker, answered under a tighter one (a reload meanwhile)."""
    loose, tight = Policy(breaker_max_actions=3), Policy(breaker_max_actions=2)
    approvals_backend.decline(approvals_backend.request(crash("a"), T0, loose), T0)
    asked = [approvals_backend.request(crash(pod), T0, loose) for pod in ("r1", "r2", "r3")]
    assert {d.outcome for d in asked} == {Outcome.AWAITING_APPROVAL}
    assert [approvals_backend.answer(d, T0, tight).outcome for d in reversed(asked)] == [
        Outcome.EXECUTED, Outcome.EXECUTED, Outcome.BREAKER_OPEN]


def test_a_request_keeps_its_place_in_the_rate_limit(approvals_backend: ApprovalBackend,
                                                      ) -> None:
    first = approvals_backend.request(crash("a"), T0, Policy())
    others = outcomes(approvals_backend, [crash(f"web-{i}") for i in range(3)], T0)
    assert others == [Outcome.EXECUTED] * 2 + [Outcome.RATE_LIMITED]  # the rule: 3 an hour
    assert approvals_backend.answer(first, T0, Policy()).outcome is Outcome.EXECUTED
    assert outcomes(approvals_backend, [crash("late")], T0) == [Outcome.RATE_LIMITED]


@pytest.mark.parametrize(("meanwhile", "expected"), [
    pytest.param("pause", (Outcome.PAUSED, "remediation is paused by an operator"),
                 id="paused"),
    pytest.param("node-down", (Outcome.DENIED, "unless_firing: KubeNodeNotReady is firing"),
                 id="blocker-fired"),
    pytest.param("failure", (Outcome.BREAKER_OPEN, "circuit breaker tripped"),
                 id="breaker-opened"),
])
def test_the_answer_sees_what_changed_meanwhile(
        approvals_backend: ApprovalBackend, meanwhile: str,
        expected: tuple[Outcome, str]) -> None:
    policy = Policy(breaker_max_failures=1)
    asked = approvals_backend.request(crash(), T0, policy)
    later = T0 + timedelta(minutes=1)
    if meanwhile == "pause":
        approvals_backend.pause(True, later)
    elif meanwhile == "node-down":
        approvals_backend.node_down("worker-1", "firing", later)
    else:
        approvals_backend.fail(approvals_backend.decide(crash("b"), T0, policy), later)
    got = approvals_backend.answer(asked, later, policy)
    assert (got.outcome, got.reason[:len(expected[1])]) == expected
