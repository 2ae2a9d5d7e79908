"""Security headers on every response, and the API docs page's own policy.

The console shows what alerts, logs and events said: text an attacker can
influence. Escaping keeps it text; the Content-Security-Policy is the second
wall: no script or style but our own files, no plugins, no `<base>`, forms
posting only to us, and no framing (clickjacking an approve button). The
console's templates carry no inline script or style (`static/console.css`),
so the policy needs neither `unsafe-inline` nor hashes.

A response that sets a header itself keeps it: `/api/docs` (Swagger UI from
its CDN, one inline script allowed by its hash) says its own policy.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                  "object-src 'none'; base-uri 'none'; form-action 'self'; "
                  "frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CONSOLE_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class SecurityHeaders:
    """Pure ASGI: add `HEADERS` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self._app(scope, receive, send_with_headers)


def swagger_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """FastAPI's Swagger UI page with a policy of its own: its CDN and its one inline script."""
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title)
    body = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body))
    policy = (f"default-src 'self'; script-src 'self' {_CDN} {hashes}; style-src 'self' {_CDN}; "
              "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return HTMLResponse(body, headers={"Content-Security-Policy": policy})
