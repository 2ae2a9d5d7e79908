"""Is this request from Slack (or our Mattermost buttons), and is it fresh?

Slack signs `v0:<timestamp>:<raw body>` with the app's signing secret
(HMAC-SHA256, `X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp`).
A request older (or newer) than `MAX_AGE` is refused even when its signature
is right: a captured request cannot be replayed later. Comparisons are in
constant time; the clock is injected, so replays are tested without sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

MAX_AGE = 300
"""Seconds a Slack request's timestamp may be away from our clock (Slack's own advice)."""


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`v0=<hex>` as Slack computes it (also what tests sign with)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_problem(secret: str, *, body: bytes, timestamp: str | None, signature: str | None,
                  now: datetime) -> str | None:
    """Why the request is not Slack's own and fresh (None when it is)."""
    if not timestamp or not signature:
        return "missing Slack signature headers"
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "malformed Slack request timestamp"
    if abs(now.timestamp() - int(timestamp)) > MAX_AGE:
        return f"stale Slack request (timestamp more than {MAX_AGE}s away: a replay?)"
    expected = slack_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "wrong Slack signature"
    return None


def token_matches(presented: object, expected: str) -> bool:
    """Mattermost: the token our buttons carry in their context, compared in constant time."""
    if not isinstance(presented, str) or not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
