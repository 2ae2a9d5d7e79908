"""Mattermost's REST API (v4), the two calls approvals use, over httpx.

A request is a post with an attachment whose buttons (`integration.url`)
point at `POST /integrations/mattermost/actions` and carry, in
`integration.context`, the verb, the remediation id and the per-integration
token we check. `POST /api/v4/posts` returns the post's id, kept so a later
answer can `PUT /api/v4/posts/{id}/patch` it in place.
"""

from __future__ import annotations

from typing import Any

from remediator.operate.chat.transport import ChatApiError, Transport


class MattermostApi:
    def __init__(self, url: str, token: str, *, transport: Transport) -> None:
        self.base = url.rstrip("/") + "/api/v4"
        self._token = token
        self.transport = transport

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.transport.send(
            method, self.base + path, json=body,
            headers={"Authorization": f"Bearer {self._token}"})
        if response.status_code >= 300:
            try:
                message = response.json().get("message") or ""
            except (ValueError, AttributeError):
                message = ""
            raise ChatApiError(f"{method} {path}: HTTP {response.status_code} {message}".strip())
        try:
            answer = response.json()
        except ValueError:
            raise ChatApiError(f"{method} {path}: answer is not JSON") from None
        return answer if isinstance(answer, dict) else {}

    async def create_post(self, channel: str, message: str, props: dict[str, Any]) -> str:
        """The new post's id."""
        answer = await self._call("POST", "/posts", {"channel_id": channel, "message": message,
                                                     "props": props})
        return str(answer["id"])

    async def patch_post(self, post_id: str, message: str, props: dict[str, Any]) -> None:
        await self._call("PUT", f"/posts/{post_id}/patch", {"message": message, "props": props})

    async def open_dialog(self, trigger_id: str, url: str, dialog: dict[str, Any]) -> None:
        """An interactive dialog (the decline form); its submission is posted to `url`."""
        await self._call("POST", "/actions/dialogs/open",
                         {"trigger_id": trigger_id, "url": url, "dialog": dialog})
