"""The rules in force, swapped atomically on reload; bad new rules keep the old ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from remediator.model.clock import Clock, utcnow
from remediator.rules.metrics import RuleMetrics
from remediator.rules.model import RuleLoadError, RuleSet, load_rules


class RuleBook:
    def __init__(self, paths: Sequence[str], *, metrics: RuleMetrics, clock: Clock = utcnow,
                 loader: Callable[[Sequence[str]], RuleSet] = load_rules) -> None:
        self._paths = list(paths)
        self._metrics = metrics
        self._clock = clock
        self._loader = loader
        self.current = self._load()
        self.loaded_at: datetime = clock()

    def _load(self) -> RuleSet:
        try:
            rules = self._loader(self._paths)
        except RuleLoadError:
            self._metrics.last_reload_success.set(0)
            raise
        self._metrics.loaded.set(len(rules.rules))
        self._metrics.last_reload_success.set(1)
        self._metrics.last_reload_timestamp.set(self._clock().timestamp())
        return rules

    def reload(self) -> RuleSet:
        """Load the files again; on any error raise and keep the rules in force."""
        self.current = self._load()
        self.loaded_at = self._clock()
        return self.current
