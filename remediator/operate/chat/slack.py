"""Slack's Web API, the few methods approvals use, over httpx (so respx can test it).

`chat.postMessage` posts a request and returns its `ts`; `chat.update`
rewrites it in place; `views.open` shows the decline form; a
`response_url` answers the person who pressed a button (ephemerally);
`users.info` gives an email for allow-lists written as emails. Slack
answers HTTP 200 with `{"ok": false, "error": ...}` for most refusals:
that is a `ChatApiError` naming Slack's error code (never the token).
"""

from __future__ import annotations

from typing import Any

from remediator.operate.chat.transport import ChatApiError, Transport

API = "https://slack.com/api"
RESPONSE_URL_HOSTS = ("hooks.slack.com",)
"""Where a `response_url` may point: only Slack's own hooks (the URL comes in the
request body; a signed body is Slack's, but we still refuse to post elsewhere)."""


class SlackApi:
    def __init__(self, token: str, *, transport: Transport, base: str = API) -> None:
        self._token = token
        self.transport = transport
        self.base = base.rstrip("/")

    async def call(self, method: str, body: dict[str, Any], *,
                   form: bool = False) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        sent = {"data": body} if form else {"json": body}
        response = await self.transport.send("POST", f"{self.base}/{method}", headers=headers,
                                             **sent)
        try:
            answer = response.json()
        except ValueError:
            raise ChatApiError(f"{method}: HTTP {response.status_code}, not JSON") from None
        if response.status_code >= 300 or not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise ChatApiError(f"{method}: {error or f'HTTP {response.status_code}'}")
        return answer

    async def post_message(self, channel: str, text: str,
                           blocks: list[dict[str, Any]]) -> tuple[str, str]:
        """(channel id, ts) of the new message."""
        answer = await self.call("chat.postMessage",
                                 {"channel": channel, "text": text, "blocks": blocks})
        return str(answer.get("channel") or channel), str(answer["ts"])

    async def update(self, channel: str, ts: str, text: str,
                     blocks: list[dict[str, Any]]) -> None:
        await self.call("chat.update", {"channel": channel, "ts": ts, "text": text,
                                        "blocks": blocks})

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self.call("views.open", {"trigger_id": trigger_id, "view": view})

    async def user_email(self, user_id: str) -> str | None:
        """The user's email (needs the `users:read.email` scope), None when not shown."""
        answer = await self.call("users.info", {"user": user_id}, form=True)
        email = ((answer.get("user") or {}).get("profile") or {}).get("email")
        return email if isinstance(email, str) and email else None

    async def respond(self, response_url: str, body: dict[str, Any]) -> None:
        """Answer through an interaction's `response_url` (Slack's hooks only)."""
        from urllib.parse import urlsplit

        parts = urlsplit(response_url)
        if parts.scheme != "https" or parts.hostname not in RESPONSE_URL_HOSTS:
            raise ChatApiError(f"response_url is not Slack's: {parts.hostname!r}")
        response = await self.transport.send("POST", response_url, json=body)
        if response.status_code >= 300:
            raise ChatApiError(f"response_url: HTTP {response.status_code}")
