"""The service's extension points in one place, as APScheduler keeps its `abc.py`.

Each interface is a `typing.Protocol`: an implementation conforms by its
shape, and code that receives one names only the interface. They sit at the
bottom layer (the shared vocabulary) and speak only its types, so any layer
may implement or receive them: the decision core receives a `GuardState`,
the worker an `Action` and a `Verifier`, the precondition checker a `Querier`.

Each has one contract suite in tests/contracts/, run against every
implementation, so a new backend proves itself by being added to a
parameter list (and a divergence between two shows as one failing case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.breaker import BreakerSnapshot
from remediator.model.outcomes import Outcome
from remediator.model.prometheus import Sample


class Action(Protocol):
    """One action type, e.g. `kubernetes.delete_pod`, run by the worker.

    `run` returns an `ActionResult` or raises an `ActionError`: `TargetGone`
    when the target does not exist (nothing to do, not a failure),
    `TargetChanged` when a retry finds its premise moved, `transient=True`
    when trying again may succeed. Never another exception: the error class
    is the retry policy, and the worker does not guess it from anything else.
    """

    async def run(self, request: ActionRequest) -> ActionResult: ...


class RecordedDecision(Protocol):
    """What a `GuardState` keeps of a decision (`remediator.decide.Decision` is one).

    Only what the guards count: the decision itself belongs to the layer
    above, and the state needs no more of it.
    """

    @property
    def outcome(self) -> Outcome: ...
    @property
    def key(self) -> str | None: ...
    @property
    def request(self) -> ActionRequest | None: ...
    @property
    def rule_name(self) -> str: ...
    @property
    def trips_breaker(self) -> bool: ...
    @property
    def creates_remediation(self) -> bool: ...
    @property
    def counts(self) -> bool:
        """Whether it counts for cooldown, rate limits and the breaker."""
        ...


class GuardState(Protocol):
    """What the decision engine may ask about the past, and how it tells a decision.

    Implementations: in memory (`simulate`, `rules test`), the database inside
    the deciding transaction, and the approval re-check (the request itself
    does not count). A decision recorded here is seen by the next question of
    the same batch, so the tenth alert of a storm sees the nine actions before it.
    """

    def is_duplicate(self, key: str) -> bool: ...
    def paused(self) -> bool: ...
    def breaker(self) -> BreakerSnapshot: ...
    def last_action_at(self, target: str, *, include_dry_run: bool) -> datetime | None: ...
    def actions_since(self, since: datetime, *, rule: str | None,
                      include_dry_run: bool) -> int: ...
    def failures_since(self, since: datetime) -> int: ...
    def firing_alerts(self, alertnames: frozenset[str] | None) -> Iterable[Mapping[str, str]]:
        """Labels of firing alerts, only those named `alertnames` unless None."""
        ...
    def record(self, decision: RecordedDecision, now: datetime) -> None: ...


class Verifier(Protocol):
    """Did the remediation work? Asked after an action, and again until it settles.

    `check` answers `verified` (the alert, or the rule's `expr`, no longer
    holds), `unverified` (it still does) or `unknown` (no answer; the caller
    retries), with a reason for the audit entry. It never raises: a source
    that cannot answer is `unknown`.
    """

    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]: ...


class Querier(Protocol):
    """Where the precondition checker runs a rule's PromQL (`only_if`, `unless`).

    `query` returns the instant vector's samples (none: the condition is
    false) or raises `PrometheusError` when it cannot answer, so the rule's
    `on_error` decides; never another exception.
    """

    async def query(self, expr: str) -> list[Sample]: ...
