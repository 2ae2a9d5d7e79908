"""A small client for the Alertmanager API v2 endpoints we read (reconciliation).

One Alertmanager usually serves many teams' routes. The client is built with
this service's receiver and every read filters by it, so no caller can ask
for another team's alerts by forgetting an argument (issue 20, item 1:
catch-up once did). Without a receiver the answer is every route's alerts,
and callers must narrow it themselves (`reconcile` keeps only alerts this
service has received by webhook).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from remediator.model.alerts import ApiAlert

if TYPE_CHECKING:
    import httpx


class AlertmanagerClient:
    """A small client for the Alertmanager API v2 endpoints we read."""

    def __init__(self, base_url: str, *, receiver: str | None = None,
                 client: httpx.AsyncClient | None = None, timeout: float = 10.0) -> None:
        import httpx  # only services that reconcile need it at start-up

        self._base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self.receiver = receiver or None
        """The receiver whose alerts every read returns (None: every route's)."""

    def scope(self) -> str:
        """What reconciliation acts on, in words (logged once at start-up)."""
        if self.receiver is None:
            return ("no ALERTMANAGER_RECEIVER: reconciliation and catch-up act only on "
                    "alerts this service has received by webhook")
        return f"reconciliation and catch-up read only alerts routed to receiver {self.receiver!r}"

    async def active_alerts(self, *, include_muted: bool = False) -> list[ApiAlert]:
        """Active alerts of this receiver, unsilenced and uninhibited unless `include_muted`
        (silenced and inhibited ones still fire)."""
        muted = "true" if include_muted else "false"
        params = {"active": "true", "silenced": muted, "inhibited": muted}
        if self.receiver is not None:
            params["receiver"] = re.escape(self.receiver)  # a regex, anchored by Alertmanager
        response = await self._client.get(f"{self._base_url}/api/v2/alerts", params=params)
        response.raise_for_status()
        return [ApiAlert.model_validate(item) for item in response.json()]

    async def aclose(self) -> None:
        await self._client.aclose()
