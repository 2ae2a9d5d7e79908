"""Reads reused while what they read has not changed: a storm's repeated pre-flight reads.

In a storm every queued action in one namespace asks the store the same
question ("which alerts are firing beside this one?") and gets the same
rows: at 500 actions, 500 identical index reads, ~10 % of the service's CPU
per action. `RecentReads` answers a repeated question from its last read
while both hold:

- the process's change count for the rows read has not moved
  (`store.changes`): this process's own writes invalidate at once, so what
  it acts on is never older than what it has committed;
- the read is younger than `ttl`: the bound for what the count cannot see,
  another replica's writes on a shared PostgreSQL.

It keeps at most `max_entries` answers (the oldest go first) and forgets
them all when the count moves.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentReads(Generic[K, V]):
    """Answers by key, valid for one change count and at most `ttl` seconds."""

    def __init__(self, *, version: Callable[[], int], ttl: float,
                 max_entries: int = 256,
                 seconds: Callable[[], float] = time.monotonic) -> None:
        self._version = version
        self._ttl = ttl
        self._max_entries = max_entries
        self._seconds = seconds
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._entries_version: int | None = None

    def get(self, key: K, read: Callable[[], V]) -> V:
        """`read()`'s answer for `key`, reused if it is still current.

        The version is taken before reading: a commit racing the read moves
        it past the answer's, which is then read again, never kept stale.
        `read` runs outside the lock; two threads missing together both read.
        A clock that stepped back makes an answer old, not young; a thread
        that took the version before a newer one was seen neither reuses nor
        keeps an answer (counts only grow).
        """
        version, now = self._version(), self._seconds()
        with self._lock:
            if self._entries_version is None or version > self._entries_version:
                self._entries.clear()
                self._entries_version = version
            found = self._entries.get(key) if version == self._entries_version else None
            if found is not None and 0 <= now - found[0] < self._ttl:
                return found[1]
        value = read()
        with self._lock:
            if self._entries_version == version:
                self._entries[key] = (now, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return value
