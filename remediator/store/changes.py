"""What this process has committed, counted per kind of row: when a cached read is stale.

A read that many actions repeat (the pre-flight's related alerts, thousands
of times in one storm, each time the same rows) may be reused while nothing
it read has changed. Writers say what they changed (`database.note_changed`);
the count for that kind moves once their transaction has committed, never
for one that rolled back. A reader takes the count *before* it reads and
keeps its result under that count: a commit racing the read moves the count
past it, so the result is at worst read again, never kept stale.

The counts are this process's own. Another replica's writes do not move
them, so a cache built on them also bounds its reuse in time
(`store.recent_reads`).
"""

from __future__ import annotations

import threading
from collections import Counter

ALERTS = "alerts"
"""The `alerts` table's firing/resolved state and labels (`recorder.remember_alerts`)."""


class ChangeCounts:
    """Committed changes per kind, for this process; thread-safe."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, kind: str) -> int:
        return self._counts[kind]

    def moved(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1
