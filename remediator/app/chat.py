"""Build the chat approval integrations from settings (`Services.build` calls this).

Nothing is built when neither Slack nor Mattermost is configured: the
endpoints then answer 404 and no httpx client is opened.
"""

from __future__ import annotations

from remediator.app.metrics import Metrics
from remediator.app.settings import Settings
from remediator.model.clock import Clock
from remediator.operate.chat.hub import Chat, MattermostConfig, SlackConfig
from remediator.operate.chat.mattermost import MattermostApi
from remediator.operate.chat.outbox import Outbox
from remediator.operate.chat.relay import Relay
from remediator.operate.chat.sinks import MattermostSink, Sink, SlackSink
from remediator.operate.chat.slack import SlackApi
from remediator.operate.chat.transport import Transport
from remediator.store.chat import ChatStore
from remediator.store.database import Database
from remediator.store.readmodel import ReadModel

MATTERMOST_PATH = "/integrations/mattermost/actions"


def chat_problem(settings: Settings) -> str | None:
    """What the configured chat and timeline integrations lack (`serve` refuses to start
    on it)."""
    problem = settings.chat_problem() or settings.timeline_problem()
    if problem is None and settings.mattermost_secrets() is not None and (
            not settings.external_url):
        problem = ("Mattermost approvals need REMEDIATOR_EXTERNAL_URL: their buttons call "
                   f"<EXTERNAL_URL>{MATTERMOST_PATH}")
    return problem


def build_chat(settings: Settings, *, database: Database, reads: ReadModel, metrics: Metrics,
               clock: Clock) -> Chat | None:
    slack_secrets = settings.slack_secrets()
    mattermost_secrets = settings.mattermost_secrets()
    if slack_secrets is None and mattermost_secrets is None:
        return None
    import httpx

    transport = Transport(httpx.AsyncClient(timeout=httpx.Timeout(5.0)))
    sinks: list[Sink] = []
    slack = mattermost = None
    if slack_secrets is not None:
        api = SlackApi(slack_secrets[1], transport=transport)
        quick = SlackApi(slack_secrets[1], transport=Transport(transport.client, retries=0,
                                                              timeout=2.5))
        slack = SlackConfig(signing_secret=slack_secrets[0], api=api, quick=quick,
                            channel=settings.slack_channel or "",
                            operators=frozenset(settings.slack_operators))
        sinks.append(SlackSink(api, slack.channel))
    if mattermost_secrets is not None:
        server, bot = settings.mattermost_url or "", mattermost_secrets[1]
        mattermost = MattermostConfig(
            token=mattermost_secrets[0], api=MattermostApi(server, bot, transport=transport),
            quick=MattermostApi(server, bot, transport=Transport(
                transport.client, retries=0, timeout=2.5)),
            channel=settings.mattermost_channel or "",
            actions_url=(settings.external_url or "").rstrip("/") + MATTERMOST_PATH,
            operators=frozenset(settings.mattermost_operators))
        sinks.append(MattermostSink(mattermost.api, mattermost.channel, mattermost.actions_url,
                                    mattermost.token))
    outbox = Outbox(metrics=metrics.chat, limit=settings.chat_backlog)
    relay = Relay(sinks, store=ChatStore(database), reads=reads, outbox=outbox, clock=clock,
                  external_url=settings.external_url)
    return Chat(slack=slack, mattermost=mattermost, relay=relay, outbox=outbox,
                metrics=metrics.chat, transport=transport)
