"""The configured chat integrations, their outbox and relay: what the endpoints and the
scheduler share (built by `app.chat` from settings)."""

from __future__ import annotations

from dataclasses import dataclass

from remediator.operate.chat.mattermost import MattermostApi
from remediator.operate.chat.outbox import Outbox
from remediator.operate.chat.relay import Relay
from remediator.operate.chat.slack import SlackApi
from remediator.operate.chat.transport import Transport
from remediator.operate.metrics import ChatMetrics


@dataclass(frozen=True, kw_only=True)
class SlackConfig:
    signing_secret: str
    api: SlackApi
    """For the outbox: retries, honours Retry-After."""
    quick: SlackApi
    """For calls inside a request (users.info, views.open): Slack wants its answer within
    3 s, so one attempt, no waiting."""
    channel: str
    operators: frozenset[str]
    """User ids (U...) and emails, as configured."""

    @property
    def wants_email(self) -> bool:
        return any("@" in who for who in self.operators)


@dataclass(frozen=True, kw_only=True)
class MattermostConfig:
    token: str
    api: MattermostApi
    quick: MattermostApi
    """For the dialog opened inside a request: one attempt, no waiting."""
    channel: str
    actions_url: str
    """Our `/integrations/mattermost/actions` as Mattermost reaches it."""
    operators: frozenset[str]
    """User ids and usernames, as configured."""


@dataclass(frozen=True, kw_only=True)
class Chat:
    slack: SlackConfig | None
    mattermost: MattermostConfig | None
    relay: Relay
    outbox: Outbox
    metrics: ChatMetrics
    transport: Transport

    async def aclose(self) -> None:
        self.outbox.stop()
        await self.transport.client.aclose()
