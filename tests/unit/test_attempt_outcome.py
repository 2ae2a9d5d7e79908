"""How an action's attempt ended, as the outcome an action and a follow-up record."""

from __future__ import annotations

import pytest

from remediator.execute.attempt import outcome_of
from remediator.model.actions import ActionError, ActionResult, TargetGone
from remediator.model.outcomes import Outcome


@pytest.mark.parametrize(("result", "outcome"), [
    (ActionResult(message="deleted"), Outcome.SUCCEEDED),
    (ActionResult(), Outcome.SUCCEEDED),
    (ActionError("forbidden"), Outcome.FAILED),
    (ActionError("connection reset", transient=True), Outcome.FAILED),
    (TargetGone("pod/apps-a/web-1 no longer exists"), Outcome.TARGET_GONE),
])
def test_each_result_names_its_outcome(result: ActionResult | ActionError,
                                       outcome: Outcome) -> None:
    assert outcome_of(result) is outcome
