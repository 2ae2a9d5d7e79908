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
from collections.abc import Iterator, Mapping
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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
