"""Where approval requests go: a Slack channel or a Mattermost channel, post and update.

Each sink knows its channel and API; the relay gives it a `Summary` to post
and, later, the same summary with its outcome to update in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from remediator.operate.chat.mattermost import MattermostApi
from remediator.operate.chat.messages import (
    Summary,
    escape,
    headline,
    mattermost_props,
    slack_blocks,
)
from remediator.operate.chat.slack import SlackApi
from remediator.store.chat import Posted


class Sink(Protocol):
    integration: str

    async def post(self, summary: Summary) -> Posted: ...

    async def update(self, posted: Posted, summary: Summary, outcome: str) -> None: ...


@dataclass
class SlackSink:
    api: SlackApi
    channel: str
    integration: str = "slack"

    async def post(self, summary: Summary) -> Posted:
        channel, ts = await self.api.post_message(self.channel, escape(headline(summary)),
                                                  slack_blocks(summary))
        return Posted(self.integration, channel, ts)

    async def update(self, posted: Posted, summary: Summary, outcome: str) -> None:
        await self.api.update(posted.channel, posted.ref,
                              escape(f"{headline(summary)}: {outcome}"),
                              slack_blocks(summary, outcome=outcome))


@dataclass
class MattermostSink:
    api: MattermostApi
    channel: str
    actions_url: str
    """Our `POST /integrations/mattermost/actions` as Mattermost reaches it."""
    token: str
    integration: str = "mattermost"

    async def post(self, summary: Summary) -> Posted:
        props = mattermost_props(summary, url=self.actions_url, token=self.token)
        post_id = await self.api.create_post(self.channel, "", props)
        return Posted(self.integration, self.channel, post_id)

    async def update(self, posted: Posted, summary: Summary, outcome: str) -> None:
        props = mattermost_props(summary, url=self.actions_url, token=self.token,
                                 outcome=outcome)
        await self.api.patch_post(posted.ref, "", props)
