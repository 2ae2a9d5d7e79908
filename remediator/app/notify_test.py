"""`remediator notify test CHANNEL`: send one sample message and say what happened.

The first thing to run after configuring a channel, and the first thing to
run at 3 a.m. when requests stop arriving: it uses the service's own settings
and code path, and turns the chat server's error code into what to do about
it. The sample has no buttons (there is nothing to approve).
"""

from __future__ import annotations

import httpx

from remediator.app.chat import MATTERMOST_PATH
from remediator.app.settings import Settings
from remediator.app.timeline_sample import (
    TIMELINE_HINTS,
    TIMELINES,
    TimelineNotConfigured,
    send_timeline_sample,
)
from remediator.operate.chat.mattermost import MattermostApi
from remediator.operate.chat.messages import Summary, headline, mattermost_props, slack_blocks
from remediator.operate.chat.slack import SlackApi
from remediator.operate.chat.transport import ChatApiError, Transport
from remediator.operate.notify import message

CHANNELS = ("slack", "mattermost", "slack-webhook", "webhook", *TIMELINES)

SAMPLE = Summary(id="00000000-0000-0000-0000-000000000000", short_id="00000000",
                 alertname="KubePodCrashLooping", target="pay-0", namespace="apps-payments",
                 rule="restart-crashlooping-pod", evidence=["pod Running on node-1"],
                 hints=["sample: a test message from `remediator notify test`"])
NOTE = "a test message from `remediator notify test`: nothing to approve"

HINTS = {
    "not_in_channel": "invite the bot to the channel (/invite @<bot>)",
    "channel_not_found": "REMEDIATOR_SLACK_CHANNEL must be a channel id (C...) the bot sees",
    "invalid_auth": "the bot token is wrong or revoked: check REMEDIATOR_SLACK_BOT_TOKEN_FILE",
    "not_authed": "no bot token sent: check REMEDIATOR_SLACK_BOT_TOKEN_FILE",
    "missing_scope": "the Slack app lacks the chat:write scope: add it and reinstall",
    "HTTP 401": "the token is wrong or revoked",
    "HTTP 403": "the bot may not post in that channel",
    "HTTP 404": "wrong server URL or channel id",
}


NotConfigured = TimelineNotConfigured
"""The channel has no settings: what to set."""


async def send_sample(settings: Settings, channel: str,
                      client: httpx.AsyncClient | None = None, *,
                      alias: str = "remediator-test") -> str:
    """One line saying where the sample went; ChatApiError/NotConfigured say why not."""
    async with client or httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as http:
        transport = Transport(http, retries=1, max_wait=5.0)
        if channel in TIMELINES:
            return await send_timeline_sample(settings, channel, transport, alias)
        if channel == "slack":
            return await _slack(settings, transport)
        if channel == "mattermost":
            return await _mattermost(settings, transport)
        return await _webhook(settings, channel, transport)


async def _slack(settings: Settings, transport: Transport) -> str:
    secrets = settings.slack_secrets()
    if secrets is None or not secrets[1] or not settings.slack_channel:
        raise NotConfigured("Slack approvals are not configured: set "
                            "REMEDIATOR_SLACK_SIGNING_SECRET_FILE, REMEDIATOR_SLACK_BOT_TOKEN_FILE"
                            " and REMEDIATOR_SLACK_CHANNEL")
    api = SlackApi(secrets[1], transport=transport)
    where, ts = await api.post_message(settings.slack_channel, f"{headline(SAMPLE)}: {NOTE}",
                                       slack_blocks(SAMPLE, outcome=NOTE))
    return f"slack: sent a sample approval request to channel {where} (ts {ts})"


async def _mattermost(settings: Settings, transport: Transport) -> str:
    secrets = settings.mattermost_secrets()
    if (secrets is None or not secrets[1] or not settings.mattermost_url
            or not settings.mattermost_channel):
        raise NotConfigured("Mattermost approvals are not configured: set "
                            "REMEDIATOR_MATTERMOST_URL, REMEDIATOR_MATTERMOST_TOKEN_FILE, "
                            "REMEDIATOR_MATTERMOST_BOT_TOKEN_FILE and "
                            "REMEDIATOR_MATTERMOST_CHANNEL")
    api = MattermostApi(settings.mattermost_url, secrets[1], transport=transport)
    url = (settings.external_url or "").rstrip("/") + MATTERMOST_PATH
    post = await api.create_post(settings.mattermost_channel, "", mattermost_props(
        SAMPLE, url=url, token="", outcome=NOTE))
    return f"mattermost: sent a sample approval request to channel " \
           f"{settings.mattermost_channel} (post {post})"


async def _webhook(settings: Settings, channel: str, transport: Transport) -> str:
    url = settings.notify_slack_url if channel == "slack-webhook" else settings.notify_webhook_url
    if not url:
        name = "NOTIFY_SLACK_URL" if channel == "slack-webhook" else "NOTIFY_WEBHOOK_URL"
        raise NotConfigured(f"{channel} is not configured: set REMEDIATOR_{name}")
    entry = {"outcome": "awaiting_approval", "alertname": SAMPLE.alertname,
             "target": SAMPLE.target, "rule": SAMPLE.rule, "reason": NOTE,
             "namespace": SAMPLE.namespace, "remediation_id": None, "ts": ""}
    event = message(entry, settings.external_url)
    body = {"text": event["text"]} if channel == "slack-webhook" else event
    response = await transport.send("POST", url, json=body)
    if response.status_code >= 300:
        raise ChatApiError(f"HTTP {response.status_code}")
    return f"{channel}: the receiver accepted a sample notification (HTTP " \
           f"{response.status_code})"


def hint(error: Exception) -> str:
    """What to do about a chat server's error, when we know."""
    text = str(error)
    known = {**TIMELINE_HINTS, **HINTS}
    return next((f"; {fix}" for code, fix in known.items() if code in text), "")
