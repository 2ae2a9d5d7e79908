"""The three timeline APIs, plain REST through the chat `Transport` (bounded retries,
Retry-After honoured): PagerDuty Events API v2 change events, Opsgenie alert
notes by alias, Grafana annotations.

A 2xx is success; 429 and 5xx are retried by the transport, then kept by
the outbox; any other 4xx is `Refused` (a wrong key, an unknown alias): the
same request would fail again. Errors name the status and the server's
own message, never the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from remediator.operate.chat.transport import Refused, Transport
from remediator.operate.timeline.events import OPSGENIE_API, PAGERDUTY_EVENTS


def _checked(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 300:
        raise Refused(f"{what}: HTTP {response.status_code}{_said(response)}")
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _said(response: httpx.Response) -> str:
    """The server's reason, short (PagerDuty `errors`, Opsgenie/Grafana `message`)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    reason = body.get("message") or body.get("errors") or body.get("error") or ""
    return f" ({str(reason)[:200]})" if reason else ""


@dataclass
class PagerDutyApi:
    routing_key: str
    transport: Transport
    base_url: str = PAGERDUTY_EVENTS

    async def change_event(self, *, summary: str, source: str, timestamp: str,
                           details: dict[str, str], links: list[dict[str, str]]) -> str:
        """Send one change event; PagerDuty's answer `message` ("Change event processed")."""
        body = {"routing_key": self.routing_key,
                "payload": {"summary": summary, "source": source, "timestamp": timestamp,
                            "custom_details": details},
                "links": links}
        response = await self.transport.send(
            "POST", f"{self.base_url.rstrip('/')}/v2/change/enqueue", json=body)
        return str(_checked(response, "pagerduty change event").get("message", "accepted"))


@dataclass
class OpsgenieApi:
    api_key: str
    transport: Transport
    base_url: str = OPSGENIE_API

    async def add_note(self, alias: str, note: str) -> str:
        """Add a note to the alert with this alias; Opsgenie's `requestId` (202: queued)."""
        url = (f"{self.base_url.rstrip('/')}/v2/alerts/{quote(alias, safe='')}/notes")
        response = await self.transport.send(
            "POST", url, params={"identifierType": "alias"},
            headers={"Authorization": f"GenieKey {self.api_key}"},
            json={"user": "remediator", "source": "remediator", "note": note[:25000]})
        return str(_checked(response, "opsgenie note").get("requestId", ""))


@dataclass
class GrafanaApi:
    base_url: str
    token: str
    transport: Transport

    async def annotate(self, *, time_ms: int, tags: list[str], text: str,
                       time_end_ms: int | None = None) -> str:
        """Create one annotation (organisation-wide: no dashboard); its id."""
        body: dict[str, Any] = {"time": time_ms, "tags": tags, "text": text}
        if time_end_ms is not None:
            body["timeEnd"] = time_end_ms
        response = await self.transport.send(
            "POST", f"{self.base_url.rstrip('/')}/api/annotations", json=body,
            headers={"Authorization": f"Bearer {self.token}"})
        return str(_checked(response, "grafana annotation").get("id", ""))
