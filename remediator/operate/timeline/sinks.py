"""Where each event goes: the PagerDuty service, the Opsgenie alert, Grafana.

Each sink says which events it wants (its label matchers: only alerts
that also came through PagerDuty or Opsgenie) and how to send one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from remediator.operate.timeline.apis import GrafanaApi, OpsgenieApi, PagerDutyApi
from remediator.operate.timeline.events import (
    ANNOTATED,
    Event,
    Matcher,
    group_key_hash,
    matches_all,
)


class TimelineSink(Protocol):
    integration: str

    def wants(self, event: Event) -> bool: ...

    async def send(self, event: Event) -> None: ...


def note_text(event: Event) -> str:
    lines = [event.summary, f"alert {event.alertname} in {event.namespace or '-'}, "
             f"remediation {event.short_id}"]
    if event.url:
        lines.append(event.url)
    return "\n".join(lines)


@dataclass
class PagerDutySink:
    api: PagerDutyApi
    match: Sequence[Matcher] = ()
    integration: str = "pagerduty"

    def wants(self, event: Event) -> bool:
        return matches_all(self.match, event.labels)

    async def send(self, event: Event) -> None:
        links = [{"href": event.url, "text": f"remediation {event.short_id}"}] if event.url \
            else []
        await self.api.change_event(summary=event.summary, source="remediator",
                                    timestamp=event.ts.isoformat(), details=event.details(),
                                    links=links)


@dataclass
class OpsgenieSink:
    api: OpsgenieApi
    match: Sequence[Matcher] = ()
    alias_label: str | None = None
    """The label holding the Opsgenie alias; None: Alertmanager's, the group key's hash."""
    integration: str = "opsgenie"

    def alias(self, event: Event) -> str:
        if self.alias_label is not None:
            return event.labels.get(self.alias_label, "")[:512]
        return group_key_hash(event.group_key) if event.group_key else ""

    def wants(self, event: Event) -> bool:
        return bool(self.alias(event)) and matches_all(self.match, event.labels)

    async def send(self, event: Event) -> None:
        await self.api.add_note(self.alias(event), note_text(event))


@dataclass
class GrafanaSink:
    api: GrafanaApi
    match: Sequence[Matcher] = ()
    integration: str = "grafana"

    def wants(self, event: Event) -> bool:
        return event.outcome in ANNOTATED and matches_all(self.match, event.labels)

    async def send(self, event: Event) -> None:
        tags = ["remediator", f"namespace:{event.namespace}", f"rule:{event.rule}",
                f"alertname:{event.alertname}", f"outcome:{event.outcome}"]
        await self.api.annotate(time_ms=int(event.ts.timestamp() * 1000), tags=tags,
                                text=note_text(event))
