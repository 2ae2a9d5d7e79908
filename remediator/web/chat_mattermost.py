"""`POST /integrations/mattermost/actions`: our buttons, and the decline dialog they open.

A button's request carries our per-integration token in its context: checked
first, in constant time (401 otherwise). Decline opens a dialog asking why
(`actions/dialogs/open` with the request's `trigger_id`); its submission comes
back here without a context token, so it is accepted only with the `state`
we signed for that user and request (`signature.dialog_state`). Then the
same allow-list and the console's approval path as Slack (`chat_answer`).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from remediator.app.services import Services
from remediator.operate.chat import interactions
from remediator.operate.chat.hub import Chat, MattermostConfig
from remediator.operate.chat.interactions import BadPayload, Press
from remediator.operate.chat.messages import mattermost_dialog
from remediator.operate.chat.signature import dialog_claims, dialog_state, token_matches
from remediator.operate.chat.transport import ChatApiError
from remediator.web.chat import read_body, rejected
from remediator.web.chat_answer import answer, not_awaiting
from remediator.web.deps import ServicesDep

router = APIRouter(prefix="/integrations", tags=["chat"])


@router.post("/mattermost/actions")
async def mattermost_actions(request: Request, services: ServicesDep,
                             background: BackgroundTasks) -> JSONResponse:
    """A Mattermost button press or decline dialog (our token or signed state first)."""
    chat = services.chat
    if chat is None or chat.mattermost is None:
        raise HTTPException(404, "Mattermost approvals are not configured")
    mattermost = chat.mattermost
    try:
        payload: Any = json.loads(await read_body(request))
    except ValueError:
        payload = None
    dialog = isinstance(payload, dict) and payload.get("type") == "dialog_submission"
    try:
        press = _proven(request, services, chat, payload, dialog=dialog)
    except BadPayload as error:
        raise HTTPException(400, str(error)) from None
    if not interactions.allowed(mattermost.operators, press.user_id, press.user_name):
        chat.metrics.interactions.labels(integration="mattermost", result="refused").inc()
        text = await run_in_threadpool(partial(
            interactions.refuse, services.operator_store, press,
            setting="MATTERMOST_OPERATORS", now=services.clock()))
        return JSONResponse({"error": text} if dialog else {"ephemeral_text": text})
    if press.verb == "decline_form":
        return await _open_dialog(services, chat, mattermost, press)
    said = await answer(request, services, press)
    chat.metrics.interactions.labels(integration="mattermost", result="answered").inc()
    background.add_task(chat.relay.run)
    if dialog:
        return JSONResponse({} if said.ok else {"error": said.text})
    return JSONResponse({"ephemeral_text": said.text})


def _proven(request: Request, services: Services, chat: Chat, payload: Any, *,
            dialog: bool) -> Press:
    """The press, once its token (button) or signed state (dialog) is checked: else 401."""
    assert chat.mattermost is not None
    if dialog:
        claims = dialog_claims(chat.mattermost.token, payload.get("state"),
                               payload.get("user_id"))
        if claims is None:
            raise rejected(request, services, chat, "mattermost",
                            "Mattermost dialog state missing or not ours")
        return interactions.mattermost_dialog(payload, claims)
    if not token_matches(interactions.mattermost_token(payload), chat.mattermost.token):
        raise rejected(request, services, chat, "mattermost",
                        "missing or wrong Mattermost action token")
    return interactions.mattermost_press(payload)


async def _open_dialog(services: Services, chat: Chat, mattermost: MattermostConfig,
                       press: Press) -> JSONResponse:
    """Decline asks why: Mattermost's dialog, opened now (its trigger_id is short-lived)."""
    late = await run_in_threadpool(not_awaiting, services, press.remediation_id)
    if late is not None:
        return JSONResponse({"ephemeral_text": late})
    summary = await run_in_threadpool(chat.relay.summary, press.remediation_id)
    state = dialog_state(mattermost.token, press.remediation_id, press.user_id,
                         press.user_name)
    try:
        await mattermost.quick.open_dialog(press.trigger_id, mattermost.actions_url,
                                           mattermost_dialog(summary, state))
    except ChatApiError as error:
        return JSONResponse({"ephemeral_text": f"could not open the decline form ({error});"
                                               " decline in the console instead"})
    return JSONResponse({})
