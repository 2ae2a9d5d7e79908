"""A small client for the Alertmanager API v2 endpoints we read (reconciliation)."""

from __future__ import annotations

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

    async def active_alerts(self) -> list[ApiAlert]:
        """Active, unsilenced, uninhibited alerts: the ones we may act on."""
        response = await self._client.get(
            f"{self._base_url}/api/v2/alerts",
            params={"active": "true", "silenced": "false", "inhibited": "false"},
        )
        response.raise_for_status()
        return [ApiAlert.model_validate(item) for item in response.json()]

    async def aclose(self) -> None:
        await self._client.aclose()
