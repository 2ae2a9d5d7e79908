"""Build the incident timeline integrations from settings (`Services.build` calls this).

Nothing is built (no httpx client opened, no cursor claimed) when none of
PagerDuty, Opsgenie or Grafana is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from remediator.app.metrics import Metrics
from remediator.app.settings import Settings
from remediator.model.clock import Clock
from remediator.operate.chat.outbox import Outbox
from remediator.operate.chat.transport import Transport
from remediator.operate.metrics import TimelineMetrics
from remediator.operate.timeline.apis import GrafanaApi, OpsgenieApi, PagerDutyApi
from remediator.operate.timeline.events import parse_matchers
from remediator.operate.timeline.relay import TimelineRelay
from remediator.operate.timeline.sinks import (
    GrafanaSink,
    OpsgenieSink,
    PagerDutySink,
    TimelineSink,
)
from remediator.store.database import Database
from remediator.store.operating import OperatorStore


@dataclass(frozen=True, kw_only=True)
class Timeline:
    relay: TimelineRelay
    outbox: Outbox
    metrics: TimelineMetrics
    transport: Transport

    async def aclose(self) -> None:
        await self.relay.aclose()
        await self.transport.client.aclose()


def timeline_sinks(settings: Settings, transport: Transport) -> list[TimelineSink]:
    """The configured integrations' sinks (also what `notify test` sends through)."""
    sinks: list[TimelineSink] = []
    key = settings.pagerduty_key()
    if key is not None:
        sinks.append(PagerDutySink(PagerDutyApi(key, transport, settings.pagerduty_events_url),
                                   parse_matchers(settings.pagerduty_match)))
    key = settings.opsgenie_key()
    if key is not None:
        sinks.append(OpsgenieSink(OpsgenieApi(key, transport, settings.opsgenie_api_url),
                                  parse_matchers(settings.opsgenie_match),
                                  settings.opsgenie_alias_label or None))
    token = settings.grafana_token()
    if token is not None and settings.grafana_url:
        sinks.append(GrafanaSink(GrafanaApi(settings.grafana_url, token, transport),
                                 parse_matchers(settings.grafana_match)))
    return sinks


def build_timeline(settings: Settings, *, database: Database, metrics: Metrics,
                   clock: Clock) -> Timeline | None:
    if (settings.pagerduty_routing_key_file is None and settings.opsgenie_api_key_file is None
            and settings.grafana_token_file is None):
        return None
    import httpx

    transport = Transport(httpx.AsyncClient(timeout=httpx.Timeout(5.0)))
    sinks = timeline_sinks(settings, transport)
    if not sinks:  # key files set but empty
        return None
    # no attempt limit: a server down for hours loses only what overflows the backlog
    outbox = Outbox(metrics=metrics.timeline, limit=settings.timeline_backlog, attempts=None)
    relay = TimelineRelay(sinks, store=OperatorStore(database), outbox=outbox, clock=clock,
                          external_url=settings.external_url)
    return Timeline(relay=relay, outbox=outbox, metrics=metrics.timeline, transport=transport)
