"""A chat press answered through the console's own approval path (`console.answer`).

Exactly what `POST /api/v1/remediations/{id}/approve|decline` does: the
target check, every guard re-checked, one winner, 409 for the loser, the
`operator` entry with the chat identity; only the way the outcome is said
differs. The loser is told who won, read from the remediation's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from remediator.app.services import Services
from remediator.model.outcomes import Outcome
from remediator.operate.chat.interactions import Press
from remediator.operate.chat.messages import decided
from remediator.store.readmodel import LookupError_
from remediator.web import console
from remediator.web.metrics import web_metrics


@dataclass(frozen=True)
class Said:
    ok: bool
    text: str
    """The outcome (approved...) or why not (409 with who won, 404)."""


async def answer(request: Request, services: Services, press: Press) -> Said:
    verb = "approve" if press.verb == "approve" else "decline"
    exists = (await console.target_exists(services, press.remediation_id)
              if verb == "approve" else None)
    try:
        result = await run_in_threadpool(partial(
            console.answer, target_exists=exists, metrics=web_metrics(request)), services,
            press.remediation_id, verb, press.actor(), press.reason)
    except HTTPException as error:
        text = str(error.detail)
        if error.status_code == 409:
            text += await run_in_threadpool(who_won, services, press.remediation_id)
        return Said(False, text)
    if result.queued:
        services.worker.wake()
    return Said(True, f"{result.outcome}: {result.reason}")


def who_won(services: Services, remediation_id: str) -> str:
    """` (approved: approved by alice ...)`: the answer that came first, if there was one."""
    try:
        answered = decided(services.reads.remediation(remediation_id))
    except LookupError_:
        return ""
    return f" ({answered})" if answered else ""


def not_awaiting(services: Services, remediation_id: str) -> str | None:
    """Why there is nothing to ask a reason for (answered, expired, unknown), or None.

    Checked before a decline form opens: a form for a request someone already
    answered would only fail on submission.
    """
    try:
        view = services.reads.remediation(remediation_id)
    except LookupError_ as error:
        return str(error)
    if view.state == Outcome.AWAITING_APPROVAL.value:
        return None
    return (f"remediation {view.short_id} is {view.state}, not awaiting approval"
            + who_won(services, remediation_id))
