"""Refused requests are counted always, logged and audited only as a bounded sample.

Anyone who can reach the port can send tokenless requests; auditing each
one (an fsync under the writer lock) would let them grow the database and
slow decisions. So: every refusal increments a metric; per client and per
window one line is logged and one audit entry written, carrying the number
of refusals from that client the previous window did not record. Across all
clients at most `max_samples` are recorded per window, so many addresses
cannot write many rows either.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Sample:
    """Record this refusal; `suppressed` earlier ones from the client went unrecorded."""

    suppressed: int


class RefusalSampler:
    """One sample per client per `window`; remembers at most `max_clients` clients."""

    def __init__(self, window: timedelta = timedelta(minutes=1),
                 max_clients: int = 10_000, max_samples: int = 60) -> None:
        self.window = window
        self.max_clients = max_clients
        self.max_samples = max_samples
        self._seen: OrderedDict[str, tuple[datetime, int]] = OrderedDict()
        self._window_start: datetime | None = None
        self._samples = 0

    def note(self, client: str, now: datetime) -> Sample | None:
        """Count a refusal; a Sample when this one should be logged and audited."""
        if self._window_start is None or now - self._window_start >= self.window:
            self._window_start, self._samples = now, 0
        entry = self._seen.get(client)
        fresh = entry is None or now - entry[0] >= self.window
        if not fresh or self._samples >= self.max_samples:
            if entry is not None:
                self._seen[client] = (entry[0], entry[1] + 1)
            else:
                self._seen[client] = (now - self.window, 1)  # sampled as soon as there is room
                self._trim()
            return None
        self._samples += 1
        suppressed = entry[1] if entry is not None else 0
        self._seen[client] = (now, 0)
        self._seen.move_to_end(client)
        self._trim()
        return Sample(suppressed)

    def _trim(self) -> None:
        while len(self._seen) > self.max_clients:
            self._seen.popitem(last=False)
