"""Actions whose implementation is built in the background, known by type at once.

The Kubernetes client takes seconds to import; the service should answer
`/-/ready` (and decide webhooks) before that. The registry lists the
deferred types from the start, so the policy treats them as executable and
every decision is exactly what it would be with the client loaded. Running
one waits until it is built; the worker claims no job before then
(`ActionRegistry.ready`), so neither the action's time budget nor its lease
is spent waiting for an import.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from remediator.model.abc import Action
from remediator.model.actions import ActionError, ActionRequest, ActionResult

log = logging.getLogger(__name__)

Build = Callable[[], Mapping[str, Action]]


class DeferredActions:
    """A group of action types built together by `build` in a daemon thread.

    `start()` begins the build (idempotent); the first `wait()` starts it too,
    so a caller that never started it (a test, a CLI) still gets its actions.
    `on_failure` is called, in the building thread, with the build's error;
    without one, the error is logged. `on_loaded` is called there after a
    successful build, before any waiter is released.
    """

    def __init__(self, types: Iterable[str], build: Build, *, name: str) -> None:
        self.types = tuple(sorted(types))
        self.name = name
        self.on_failure: Callable[[BaseException], None] | None = None
        self.on_loaded: Callable[[], None] | None = None
        self._build = build
        self._future: concurrent.futures.Future[Mapping[str, Action]] = (
            concurrent.futures.Future())
        self._lock = threading.Lock()
        self._started = False

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._run, name=f"load-{self.name}", daemon=True).start()

    @property
    def loaded(self) -> bool:
        return self._future.done() and self._future.exception() is None

    async def wait(self) -> Mapping[str, Action]:
        """The built actions (raises the build's error)."""
        self.start()
        return await asyncio.wrap_future(self._future)

    def proxies(self) -> dict[str, Action]:
        return {type_: _Deferred(self, type_) for type_ in self.types}

    def _run(self) -> None:
        started = time.monotonic()
        try:
            built = dict(self._build())
            missing = set(self.types) - set(built)
            if missing:
                raise RuntimeError(f"{self.name} did not provide {', '.join(sorted(missing))}")
        except BaseException as error:  # reported, never lost in the thread
            self._future.set_exception(error)
            if self.on_failure is not None:
                self.on_failure(error)
            else:
                log.error("%s could not be loaded: %s", self.name, error)
            return
        log.info("%s loaded in %.1f s", self.name, time.monotonic() - started)
        if self.on_loaded is not None:
            self.on_loaded()
        self._future.set_result(built)


class _Deferred:
    """Stands for one deferred type: `run` waits for the group, then delegates."""

    def __init__(self, group: DeferredActions, type_: str) -> None:
        self._group = group
        self._type = type_

    async def run(self, request: ActionRequest) -> ActionResult:
        try:
            actions = await self._group.wait()
        except Exception as error:
            raise ActionError(f"{self._type} is unavailable: {self._group.name} could not be "
                              f"loaded ({error})", transient=True) from None
        return await actions[self._type].run(request)
