"""Logging as JSON lines (for log pipelines) or plain text (for a terminal).

Work on one remediation binds its id and the alert's fingerprint with
`bound(...)` (`remediator.model.log_context`, re-exported here); every line
logged inside carries them, so one grep finds all of it. This module only
formats and configures: plain stdlib logging.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from remediator.model.log_context import bind, bound, context, task_context

__all__ = ["ConsoleFormatter", "ContextFilter", "JsonFormatter", "RepeatFilter", "bind",
           "bound", "context", "setup", "task_context"]


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (`record.context`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        explicit = getattr(record, "context", None) or {}
        record.context = {**context(), **explicit}
        return True


class RepeatFilter(logging.Filter):
    """At most `burst` lines per `window` seconds for each repeated message.

    A message that floods (asyncio's "socket.accept() out of system resource"
    wrote 452,607 lines, 232 MB, in 35 s) is cut to a few lines a minute; the
    next line let through says how many were suppressed. Keyed by logger,
    level, the message and its bound context (a remediation id), so distinct
    events, such as two decisions, never hide each other.
    """

    def __init__(self, *, burst: int = 5, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10000) -> None:
        super().__init__()
        self._burst, self._window, self._clock, self._max_keys = burst, window, clock, max_keys
        self._seen: dict[tuple[str, int, str, str], list[float]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        context = getattr(record, "context", None) or {}
        key = (record.name, record.levelno, record.getMessage()[:300],
               str(sorted(context.items())))
        now = self._clock()
        with self._lock:
            started, count, suppressed = self._seen.get(key, (now, 0, 0))
            if now - started >= self._window:
                started, count = now, 0
            if count >= self._burst:
                self._seen[key] = [started, count, suppressed + 1]
                return False
            if len(self._seen) >= self._max_keys and key not in self._seen:
                self._seen.clear()
            self._seen[key] = [started, count + 1, 0]
        if suppressed:
            record.msg = f"{record.msg} ({int(suppressed)} similar lines suppressed)"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "context", None) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "context", None) or {}
        if not fields:
            return line
        return line + " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"


def setup(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
