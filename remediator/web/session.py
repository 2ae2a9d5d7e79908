"""Console sessions: a random id in a signed cookie, the session itself in the database.

The cookie (`HttpOnly`, `SameSite=Strict`) carries only a random 256-bit id,
signed with `SESSION_KEY` (itsdangerous); the database holds the SHA-256 of
that id with who signed in, whether they act, the session's CSRF token,
and its times. Every replica reads the same rows, so a session works on all
of them, and signing out or an operator's revocation ends it everywhere at
the next request (issues 20 item 7, 21 item 2).

A session ends when revoked, `SESSION_TTL` after sign-in (absolute), or
when unused for `SESSION_IDLE_TIMEOUT`. Use is noted at most once a minute
(`TOUCH_EVERY`), so reading pages is not a write per request; the idle
timeout is therefore exact to within that minute.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from remediator.operate import sessions as session_admin
from remediator.store import StoreUnavailable
from remediator.store.operating import OperatorStore
from remediator.store.sessions import SessionRecord, SessionStore, digest

log = logging.getLogger(__name__)

COOKIE = "remediator_session"
TOUCH_EVERY = timedelta(minutes=1)
FORGET_AFTER = timedelta(days=7)
"""Ended sessions stay listable (`sessions list --all`) this long."""


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
    session: str = ""
    """The session's public id (the hash of the cookie's id), for sessions only."""


@dataclass(frozen=True, kw_only=True)
class Expiry:
    ttl: timedelta
    """Absolute: a session ends this long after sign-in, however busy."""
    idle: timedelta
    """A session unused this long ends."""

    def live(self, record: SessionRecord, now: datetime) -> bool:
        return (record.revoked_at is None and now < record.expires_at
                and now < record.last_seen_at + self.idle)


class Sessions:
    """Issue and read session cookies; derive CSRF tokens for proxy users."""

    def __init__(self, key: str | None, *, store: SessionStore, operators: OperatorStore,
                 expiry: Expiry) -> None:
        self._key = key or secrets.token_urlsafe(32)
        self._serializer = URLSafeSerializer(self._key, salt="remediator-session-id")
        self.store = store
        self.operators = operators
        self.expiry = expiry

    @property
    def ttl(self) -> timedelta:
        return self.expiry.ttl

    def issue(self, *, actor: str, can_act: bool, now: datetime, client: str = "",
              user_agent: str = "") -> tuple[str, Principal]:
        """A new session, stored and audited; its cookie value and principal (blocking)."""
        session_id = secrets.token_urlsafe(32)
        record = SessionRecord(id=digest(session_id), actor=actor, can_act=can_act,
                               csrf=secrets.token_urlsafe(24), created_at=now,
                               last_seen_at=now, expires_at=now + self.expiry.ttl,
                               client=client, user_agent=user_agent)
        session_admin.signed_in(self.operators, record, forget_before=now - FORGET_AFTER)
        return self._serializer.dumps(session_id), _principal(record)

    def read(self, value: str, now: datetime) -> Principal | None:
        """The principal of a cookie; None when forged, revoked, expired or idle (blocking)."""
        try:
            session_id = self._serializer.loads(value)
        except BadSignature:
            return None
        if not isinstance(session_id, str) or len(session_id) > 100:
            return None
        record = self.store.find(digest(session_id))
        if record is None or not self.expiry.live(record, now):
            return None
        if now - record.last_seen_at >= TOUCH_EVERY:
            try:
                self.store.touch(record.id, now=now, seen_before=now - TOUCH_EVERY)
            except StoreUnavailable as error:  # reading must not fail for a bookkeeping write
                log.warning("could not note the use of session %s: %s", record.id[:12], error)
        return _principal(record)

    def proxy_csrf(self, user: str) -> str:
        """A stable CSRF token for a proxy user (no cookie of ours to keep it in)."""
        return hmac.new(self._key.encode(), f"csrf|{user}".encode(), hashlib.sha256).hexdigest()


def _principal(record: SessionRecord) -> Principal:
    return Principal(actor=record.actor, can_act=record.can_act, via="session",
                     csrf=record.csrf, session=record.id)


def csrf_matches(expected: str, presented: str | None) -> bool:
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
