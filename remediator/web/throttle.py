"""Sign-in throttling: how long a client (or everyone) must wait after failed sign-ins.

A sliding window: a client may fail `per_client` times within `window`, and
all clients together `overall` times. Past either, every sign-in attempt is
answered 429 with `Retry-After`, the right token included (a guesser must
learn nothing), until the oldest failure that counts leaves the window.

The decision is pure: it takes the `n`-th newest failure of the client and of
everyone (read from the table every replica shares, `store.sessions`) and
the time, and says how long to wait. The global limit protects against a
guesser spread over many addresses; it also locks out a legitimate operator
while a flood lasts, which is why it is set well above what people type and
why bearer tokens (the API, the CLI) are never throttled by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, kw_only=True)
class LoginLimits:
    per_client: int
    """Failed sign-ins one address may make within `window`."""
    overall: int
    """Failed sign-ins all addresses together may make within `window`."""
    window: timedelta


@dataclass(frozen=True)
class Verdict:
    retry_after: int
    """Seconds to wait (0: the attempt may go ahead)."""
    scope: str = ""
    """What is throttled: `client`, `global`, or "" when nothing is."""

    @property
    def allowed(self) -> bool:
        return self.retry_after == 0


ALLOWED = Verdict(0)


def wait(limits: LoginLimits, now: datetime, *, client_nth: datetime | None,
         overall_nth: datetime | None) -> Verdict:
    """How long to wait, given the `per_client`-th newest failure of this client and
    the `overall`-th newest of everyone within the window (None: fewer than that).

    When either limit is reached, the wait ends when that failure leaves the
    window: then one fewer counts, and one more attempt may go ahead.
    """
    found = [Verdict(_seconds(at + limits.window - now), scope)
             for scope, at in (("client", client_nth), ("global", overall_nth))
             if at is not None and at + limits.window > now]
    return max(found, key=lambda v: v.retry_after, default=ALLOWED)


def _seconds(delta: timedelta) -> int:
    """Whole seconds, rounded up: a client that waits as told is never early."""
    return max(1, math.ceil(delta.total_seconds()))
