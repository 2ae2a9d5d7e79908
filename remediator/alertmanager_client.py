"""A small client for the Alertmanager API v2 endpoints we read (reconciliation)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from remediator.alertmanager import ApiAlert

if TYPE_CHECKING:
    import httpx


class AlertmanagerClient:
    """A small client for the Alertmanager API v2 endpoints we read."""

    def __init__(self, base_url: str, *, client: httpx.AsyncClient | None = None,
                 timeout: float = 10.0) -> None:
        import httpx  # only services that reconcile need it at start-up

        self._base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def active_alerts(self, *, receiver: str | None = None,
                            include_muted: bool = False) -> list[ApiAlert]:
        """Active, unsilenced, uninhibited alerts: the ones we may act on.

        `receiver`: only alerts routed to that receiver (its exact name).
        `include_muted`: silenced and inhibited ones too (they still fire).
        """
        muted = "true" if include_muted else "false"
        params = {"active": "true", "silenced": muted, "inhibited": muted}
        if receiver:
            params["receiver"] = re.escape(receiver)  # a regex, anchored by Alertmanager
        response = await self._client.get(f"{self._base_url}/api/v2/alerts", params=params)
        response.raise_for_status()
        return [ApiAlert.model_validate(item) for item in response.json()]

    async def aclose(self) -> None:
        await self._client.aclose()
