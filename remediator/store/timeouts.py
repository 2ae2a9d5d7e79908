"""How long a PostgreSQL session may wait, run or sit idle before it gives up.

Every writer of every replica queues on one advisory lock (`Database.writing`).
Without bounds, one replica stalled inside a write (SIGSTOPped, a frozen VM,
a dead network path) holds that lock for as long as it stalls and every
webhook of every replica hangs with it. With them:

- a writer waits at most `lock` for the lock (or any row lock), then fails
  with `lock_not_available`: the webhook answers 503 and Alertmanager retries;
- a statement runs at most `statement`;
- a session idle inside an open transaction for `idle_in_transaction` is
  ended by the server, which releases the stalled replica's lock; one stalled
  halfway through a pipeline, where the server runs no timer, is ended by the
  next writer that times out on the lock (`store.fencing`);
- TCP keepalives find a peer that vanished without closing the connection
  (after about `keepalive` plus three probes), and connecting gives up after
  `connect`.

All are server-side session settings sent when a connection opens, so they
bind every statement, including ones SQLAlchemy issues on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_KEEPALIVE_PROBES = 3


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """Seconds; 0 turns a server-side bound off (PostgreSQL's own meaning of 0)."""

    lock: float = 5.0
    statement: float = 60.0
    idle_in_transaction: float = 30.0
    connect: float = 5.0
    keepalive: float = 30.0

    def connect_args(self) -> dict[str, Any]:
        """psycopg's connection arguments carrying these bounds."""
        options = " ".join(f"-c {name}={_ms(seconds)}" for name, seconds in (
            ("lock_timeout", self.lock), ("statement_timeout", self.statement),
            ("idle_in_transaction_session_timeout", self.idle_in_transaction)))
        idle = max(1, round(self.keepalive))
        return {"options": options, "connect_timeout": max(1, round(self.connect)),
                "keepalives": 1, "keepalives_idle": idle,
                "keepalives_interval": max(1, idle // _KEEPALIVE_PROBES),
                "keepalives_count": _KEEPALIVE_PROBES,
                # Unacknowledged data (a write to a dead peer) gives up as quickly.
                "tcp_user_timeout": idle * 1000}


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


UNBOUNDED_SESSION = ("SET lock_timeout = 0", "SET statement_timeout = 0")
"""For the migration session only: replicas starting together wait their turn on
the migration lock, and building an index on a large table may take minutes."""

RESTORED_SESSION = ("RESET lock_timeout", "RESET statement_timeout")
"""Back to the bounds the connection opened with (its `options`)."""
