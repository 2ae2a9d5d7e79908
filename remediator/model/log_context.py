"""The fields every log line carries while one remediation is worked on.

Work on one remediation binds its id and the alert's fingerprint; every line
logged inside (ours, the Kubernetes client's, ansible-runner's) carries them,
so one grep finds all of it. A ContextVar: asyncio tasks and `to_thread` copy
it. Kept below every layer that binds fields (the worker, the web app), while
`remediator.app.logs` formats and configures the output.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

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
    """The fields bound in the current context."""
    return _CONTEXT.get()
