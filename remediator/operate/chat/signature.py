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


def dialog_state(token: str, remediation_id: str, user_id: str, user_name: str) -> str:
    """The `state` of Mattermost's decline dialog: the request's id and the user's name,
    bound to the user it was opened for by an HMAC under our action token.

    A dialog submission carries no context token (and no user name); this proves we
    opened the dialog, for this user and this request. Only that user's client sees
    it, and it lets them do nothing they could not do with the button.
    """
    mac = hmac.new(token.encode(), f"decline|{remediation_id}|{user_id}|{user_name}".encode(),
                   hashlib.sha256).hexdigest()
    return f"{remediation_id}:{user_name}:{mac}"


def dialog_claims(token: str, state: object, user_id: object) -> tuple[str, str] | None:
    """(remediation id, user name) a dialog's `state` holds, if we made it for `user_id`."""
    if not isinstance(state, str) or not isinstance(user_id, str) or len(state) > 400:
        return None
    parts = state.split(":")
    if len(parts) != 3:
        return None
    expected = dialog_state(token, parts[0], user_id, parts[1])
    if not hmac.compare_digest(expected.encode(), state.encode()):
        return None
    return parts[0], parts[1]
