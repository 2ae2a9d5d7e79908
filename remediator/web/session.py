"""Console sessions: a signed, expiring cookie that says who signed in and whether they act.

The cookie is signed with `SESSION_KEY` (itsdangerous), `HttpOnly` and
`SameSite=Strict`; it carries no token, only the name of the token used to
sign in. Changing the key signs everyone out. Without a configured key each
process draws a random one, so a restart signs everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "remediator_session"


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who is asking, and whether they may act (the webhook token) or only read."""

    actor: str
    """Audited name: `webhook-token`, `api-token`, a proxy user, or `dev`."""
    can_act: bool
    via: str
    """How they proved it: `token` (bearer), `session` (cookie), `proxy`, `dev`."""
    csrf: str = ""
    """The token POST forms must carry (sessions and proxy users only)."""


class Sessions:
    """Issue and read session cookies; derive CSRF tokens for proxy users."""

    def __init__(self, key: str | None, ttl: timedelta) -> None:
        self._key = key or secrets.token_urlsafe(32)
        self._serializer = URLSafeTimedSerializer(self._key, salt="remediator-session")
        self.ttl = ttl

    def issue(self, *, actor: str, can_act: bool) -> tuple[str, Principal]:
        """A new cookie value and the principal it stands for."""
        csrf = secrets.token_urlsafe(24)
        value = self._serializer.dumps({"a": actor, "w": can_act, "c": csrf})
        return value, Principal(actor=actor, can_act=can_act, via="session", csrf=csrf)

    def read(self, value: str) -> Principal | None:
        """The principal of a cookie; None when forged, from an old key or expired."""
        try:
            data: Any = self._serializer.loads(value, max_age=int(self.ttl.total_seconds()))
        except BadSignature:
            return None
        if not (isinstance(data, dict) and isinstance(data.get("a"), str)
                and isinstance(data.get("w"), bool) and isinstance(data.get("c"), str)):
            return None
        return Principal(actor=data["a"], can_act=data["w"], via="session", csrf=data["c"])

    def proxy_csrf(self, user: str) -> str:
        """A stable CSRF token for a proxy user (no cookie of ours to keep it in)."""
        return hmac.new(self._key.encode(), f"csrf|{user}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(expected: str, presented: str | None) -> bool:
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
