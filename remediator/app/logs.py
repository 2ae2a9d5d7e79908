"""Logging as JSON lines (for log pipelines) or plain text (for a terminal).

Work on one remediation binds its id and the alert's fingerprint with
`bound(...)`; every line logged inside (ours, the Kubernetes client's,
ansible-runner's) carries them, so one grep finds all of it. Plain stdlib
logging with a ContextVar: asyncio tasks and `to_thread` copy it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, str] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, str]] = ContextVar("remediator_log_context", default=_EMPTY)


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Attach fields (remediation_id, fingerprint...) to every line logged inside."""
    merged = {**_CONTEXT.get(), **{k: v for k, v in fields.items() if v}}
    token = _CONTEXT.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**fields: str | None) -> None:
    """Attach fields for the rest of the current context (an asyncio task's own copy)."""
    _CONTEXT.set(MappingProxyType({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v}}))


def task_context(**fields: str | None) -> contextvars.Context:
    """A copy of the current context with fields bound: `create_task(..., context=...)`."""
    ctx = contextvars.copy_context()
    ctx.run(bind, **fields)
    return ctx


def context() -> Mapping[str, str]:
    return _CONTEXT.get()


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (`record.context`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        explicit = getattr(record, "context", None) or {}
        record.context = {**_CONTEXT.get(), **explicit}
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
