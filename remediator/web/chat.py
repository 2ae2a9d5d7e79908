"""`POST /integrations/slack/interactions` (and what `chat_mattermost` shares with it).

Not behind the console's session, bearer token or CSRF check: a chat server
holds none of them. Each request proves itself instead: Slack's signature
over the raw body with a fresh timestamp, or the per-integration token our
Mattermost buttons carry. An integration that is not configured answers 404;
a missing, wrong or stale proof answers 401, counted and sampled into the log
like every unauthenticated request. Only then is the payload read, the user
checked against the allow-list, and the answer taken through the console's
approval path (`chat_answer`). Messages are updated by the relay afterwards,
off the request (`BackgroundTasks`).
"""

from __future__ import annotations

import json
from functools import partial

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from remediator.app.services import Services
from remediator.operate.chat import interactions
from remediator.operate.chat.hub import Chat, SlackConfig
from remediator.operate.chat.interactions import BadPayload, Press
from remediator.operate.chat.messages import decline_view
from remediator.operate.chat.outbox import Message
from remediator.operate.chat.signature import slack_problem
from remediator.operate.chat.transport import ChatApiError
from remediator.web.chat_answer import answer, not_awaiting
from remediator.web.deps import ServicesDep, note_refusal

router = APIRouter(prefix="/integrations", tags=["chat"])

MAX_BODY = 64 * 1024
"""A Slack or Mattermost interaction is a few kilobytes."""


async def read_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"body larger than {MAX_BODY} bytes")
    return body


def rejected(request: Request, services: Services, chat: Chat, integration: str,
              problem: str) -> HTTPException:
    chat.metrics.interactions.labels(integration=integration, result="rejected").inc()
    note_refusal(request, services, problem)
    return HTTPException(401, problem)


@router.post("/slack/interactions")
async def slack_interactions(request: Request, services: ServicesDep,
                             background: BackgroundTasks) -> Response:
    """A Slack button press or the decline form (Slack's request signature verified)."""
    chat = services.chat
    if chat is None or chat.slack is None:
        raise HTTPException(404, "Slack approvals are not configured")
    body = await read_body(request)
    problem = slack_problem(chat.slack.signing_secret, body=body,
                            timestamp=request.headers.get("x-slack-request-timestamp"),
                            signature=request.headers.get("x-slack-signature"),
                            now=services.clock())
    if problem is not None:
        raise rejected(request, services, chat, "slack", problem)
    try:
        press = interactions.slack_press(body)
    except BadPayload as error:
        raise HTTPException(400, str(error)) from None
    if press is None:
        return Response(status_code=200)
    refusal = await _slack_refusal(services, chat.slack, press)
    if refusal is not None:
        chat.metrics.interactions.labels(integration="slack", result="refused").inc()
        if press.verb == "decline":  # the form: say it there
            return JSONResponse({"response_action": "errors", "errors": {"reason": refusal}})
        _tell(chat, press, refusal)
        background.add_task(chat.outbox.drain)
        return Response(status_code=200)
    if press.verb == "decline_form":
        background.add_task(chat.outbox.drain)  # what it may tell them
        return await _open_decline_form(services, chat, press)
    said = await answer(request, services, press)
    chat.metrics.interactions.labels(integration="slack", result="answered").inc()
    background.add_task(chat.relay.run)
    if press.verb == "decline" and not said.ok:
        return JSONResponse({"response_action": "errors", "errors": {"reason": said.text}})
    if not said.ok:
        _tell(chat, press, said.text)
    return Response(status_code=200)


async def _slack_refusal(services: Services, slack: SlackConfig, press: Press) -> str | None:
    """Why this Slack user may not answer (audited), or None."""
    email = None
    if not interactions.allowed(slack.operators, press.user_id) and slack.wants_email:
        try:
            email = await slack.quick.user_email(press.user_id)
        except ChatApiError:
            email = None  # cannot tell: not allowed
    if interactions.allowed(slack.operators, press.user_id, email):
        return None
    return await run_in_threadpool(partial(
        interactions.refuse, services.operator_store, press, setting="SLACK_OPERATORS",
        now=services.clock()))


def _tell(chat: Chat, press: Press, text: str) -> None:
    """An ephemeral answer to whoever pressed (through the outbox: off the request)."""
    slack = chat.slack
    if slack is None or not press.response_url:
        return
    body = {"response_type": "ephemeral", "replace_original": False, "text": text}
    chat.outbox.put(Message("slack", f"reply {press.remediation_id[:8]}",
                            partial(slack.api.respond, press.response_url, body)))


async def _open_decline_form(services: Services, chat: Chat, press: Press) -> Response:
    """Decline asks why: a modal (its `trigger_id` lasts 3 s, so it is opened now)."""
    assert chat.slack is not None
    late = await run_in_threadpool(not_awaiting, services, press.remediation_id)
    if late is not None:  # answered, expired or unknown: say so where they pressed
        _tell(chat, press, late)
        return Response(status_code=200)
    summary = await run_in_threadpool(chat.relay.summary, press.remediation_id)
    private = json.dumps({"rid": press.remediation_id, "channel": press.channel,
                          "ts": press.message_ref})
    try:
        await chat.slack.quick.open_view(press.trigger_id, decline_view(summary, private))
    except ChatApiError as error:
        _tell(chat, press, f"could not open the decline form ({error}); decline in the "
                           "console instead")
    return Response(status_code=200)
