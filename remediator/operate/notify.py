"""Outgoing notifications: approval requests, failures, exhausted ladders, an open breaker.

A scheduler job reads the audit log past a cursor kept in the database (so
replicas share it and a restart neither repeats nor skips), then posts each
event to a Slack-compatible incoming webhook and/or a generic JSON webhook,
with a link to the console (`EXTERNAL_URL`). Posting happens after the
cursor is committed and outside any decision: a slow or failing receiver
never delays a decision. Retries are bounded; a notification that still
fails is counted (`remediator_notifications_total{result="failed"}`) and
logged, and is not retried later (at most once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from remediator.model.clock import Clock
from remediator.model.outcomes import Outcome
from remediator.operate.metrics import NotifyMetrics
from remediator.store.operating import OperatorStore

if TYPE_CHECKING:  # httpx: imported by a Notifier, which only configured channels build
    import httpx

log = logging.getLogger(__name__)

CURSOR = "notify_cursor"
EVENTS = (Outcome.AWAITING_APPROVAL.value, Outcome.FAILED.value, Outcome.EXHAUSTED.value,
          Outcome.BREAKER_OPEN.value, Outcome.GITOPS_MANAGED.value, Outcome.PROPOSED.value,
          Outcome.REVERTED_BY_GITOPS.value)
_TITLES = {"awaiting_approval": "Approval needed", "failed": "Remediation failed",
           "exhausted": "Escalation exhausted: a human is needed",
           "breaker_open": "Circuit breaker open: automation stopped",
           "gitops_managed": "Not run: Argo CD or Flux manages the target",
           "proposed": "Change proposed in git",
           "reverted_by_gitops": "Undone by Argo CD or Flux: the change must go to git"}


@dataclass(frozen=True)
class Channel:
    name: str
    """`slack` or `webhook`."""
    url: str


def claim_events(store: OperatorStore, now: datetime, *,
                 batch: int = 200) -> list[dict[str, Any]]:
    """Audit entries to notify since the shared cursor; the cursor moves past them.

    On first use the cursor starts at the newest entry: history is not replayed.
    """
    entries = store.claim_audit_entries(cursor=CURSOR, now=now, batch=batch)
    return [entry for entry in entries if entry["outcome"] in EVENTS
            and not (entry["detail"] or {}).get("retrying")]


def message(entry: dict[str, Any], external_url: str | None) -> dict[str, Any]:
    """The generic JSON event; Slack gets its `text`."""
    link = (f"{external_url.rstrip('/')}/remediations/{entry['remediation_id']}"
            if external_url and entry.get("remediation_id") else "")
    title = _TITLES.get(entry["outcome"], entry["outcome"])
    what = " ".join(x for x in (entry["alertname"], entry["target"]) if x)
    text = f"[remediator] {title}: {what}" + (f" (rule {entry['rule']})" if entry["rule"]
                                                else "")
    text += f"\n{entry['reason']}" + (f"\n{link}" if link else "")
    proposal = ((entry.get("detail") or {}).get("gitops") or {}).get("proposal") or {}
    return {"event": entry["outcome"], "title": title, "text": text, "url": link,
            "pr_url": proposal.get("pr_url"), "remediation_id": entry.get("remediation_id"),
            "rule": entry["rule"],
            "alertname": entry["alertname"], "namespace": entry["namespace"],
            "target": entry["target"], "reason": entry["reason"], "ts": entry["ts"]}


class Notifier:
    def __init__(self, channels: Sequence[Channel], *, metrics: NotifyMetrics,
                 external_url: str | None, retries: int = 2,
                 client: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 breaker_quiet: timedelta = timedelta(minutes=30)) -> None:
        import httpx

        self.channels = list(channels)
        self.metrics = metrics
        self.external_url = external_url
        self.retries = retries
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(5.0))
        self.sleep = sleep
        self.breaker_quiet = breaker_quiet
        self._breaker_sent: datetime | None = None

    async def send(self, entries: Sequence[dict[str, Any]], now: datetime) -> None:
        for entry in entries:
            if entry["outcome"] == Outcome.BREAKER_OPEN.value:
                # Every decision while open is `breaker_open`: say it once per opening.
                if self._breaker_sent and now - self._breaker_sent < self.breaker_quiet:
                    continue
                self._breaker_sent = now
            event = message(entry, self.external_url)
            for channel in self.channels:
                body = {"text": event["text"]} if channel.name == "slack" else event
                await self._post(channel, body)

    async def _post(self, channel: Channel, body: dict[str, Any]) -> None:
        import httpx

        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await self.sleep(0.5 * 2 ** (attempt - 1))
            try:
                response = await self.client.post(channel.url, json=body)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
                continue
            if response.status_code < 300:
                self.metrics.notifications.labels(channel=channel.name, result="sent").inc()
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break  # the receiver refuses this message; retrying will not help
        self.metrics.notifications.labels(channel=channel.name, result="failed").inc()
        log.warning("notification to %s failed after %d attempt(s): %s (event %s)",
                    channel.name, attempt + 1, problem, body.get("event", "slack"))

    async def aclose(self) -> None:
        await self.client.aclose()


def channels_of(slack_url: str | None, webhook_url: str | None) -> list[Channel]:
    found = []
    if slack_url:
        found.append(Channel("slack", slack_url))
    if webhook_url:
        found.append(Channel("webhook", webhook_url))
    return found


async def notify_pending(store: OperatorStore, notifier: Notifier, *, clock: Clock) -> None:
    """Scheduler job: claim new events, then post them (never inside a decision)."""
    entries = await asyncio.to_thread(claim_events, store, clock())
    if entries:
        await notifier.send(entries, clock())
