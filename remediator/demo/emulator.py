"""kmock's Kubernetes API emulator on a loopback port, in a thread of its own.

The service runs its official Kubernetes client against it exactly as
against a real API server (through a kubeconfig naming its URL). The
emulator, the demo's controller and its Alertmanager share one event loop
in this thread, so the cluster's state changes only between requests, and
the service's own event loop (uvicorn's) never waits on the demo.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import kmock

from remediator.demo import controller
from remediator.demo.scene import PODS, Scene

log = logging.getLogger(__name__)

T = TypeVar("T")
RECONCILE_EVERY = 0.5
"""Seconds between two passes of the demo's controller (a replaced pod shows within it)."""


class EmulatedCluster:
    """`start()` serves the scene and returns the URL; `stop()` ends the thread."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._emulator: kmock.KubernetesEmulator | None = None
        self._started = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="demo-cluster", daemon=True)

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"the emulated cluster did not start within {timeout:g}s")
        if self._failed is not None:
            raise RuntimeError(f"the emulated cluster did not start: {self._failed}")
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=10)

    def submit(self, work: Callable[[], Awaitable[T]]) -> Future[T]:
        """Run `work()` on the cluster's loop (the demo's Alertmanager runs there)."""
        assert self._loop is not None, "start() first"
        return asyncio.run_coroutine_threadsafe(_awaited(work), self._loop)

    def objects(self) -> KmockObjects:
        """The stored objects; only on the cluster's loop (inside `submit`)."""
        assert self._emulator is not None, "start() first"
        return KmockObjects(self._emulator)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start(), never lost in the thread
            self._failed = error
            self._started.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator):
            self._emulator = emulator
            _declare(emulator, self.scene)
            self.url = str(emulator.url).rstrip("/")
            self._started.set()
            reconciling = asyncio.create_task(self._reconcile())
            await self._stopping.wait()
            reconciling.cancel()

    async def _reconcile(self) -> None:
        objects = self.objects()
        while True:
            try:
                controller.reconcile(objects, datetime.now(UTC))
            except Exception:  # the demo's controller must not take the cluster down
                log.exception("demo controller pass failed")
            await asyncio.sleep(RECONCILE_EVERY)


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


def _declare(emulator: kmock.KubernetesEmulator, scene: Scene) -> None:
    """Seed the objects; declare pods' `log` subresource, answered from the scene."""
    for (resource, namespace, name), obj in scene.objects.items():
        emulator.objects[resource, namespace, name] = copy.deepcopy(obj)
    emulator.resources[PODS] = kmock.ResourceInfo(
        kind="Pod", namespaced=True, verbs={"get", "list", "delete"}, subresources={"log"})

    def log_of(request: kmock.Request) -> bytes:
        return scene.logs.get(str(request.name), "").encode()

    emulator["get", kmock.resource(PODS), kmock.subresource("log")] << log_of


class KmockObjects:
    """`controller.Objects` over kmock's stored objects (copies in, copies out)."""

    def __init__(self, emulator: kmock.KubernetesEmulator) -> None:
        self._objects = emulator.objects

    def live(self, resource: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(obj.raw) for key, obj in self._objects.items()
                if _name(key[0]) == resource and not obj.deleted]

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:  # `in` does not parse the resource as indexing does
            stored = self._objects[resource, namespace, name]
        except KeyError:
            return None
        if stored.deleted:
            return None
        found: dict[str, Any] = copy.deepcopy(stored.raw)
        return found

    def put(self, resource: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self._objects[resource, meta.get("namespace"), meta["name"]] = copy.deepcopy(obj)

    def remove(self, resource: str, namespace: str, name: str) -> None:
        self._objects[resource, namespace, name].delete()


def _name(resource: Any) -> str:
    return "/".join(part for part in (resource.group, resource.version, resource.plural) if part)


def write_kubeconfig(path: Path, url: str) -> Path:
    """A kubeconfig naming only the emulated cluster: the service loads it like any other."""
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: remediator-demo\n"
        f"clusters:\n- name: remediator-demo\n  cluster:\n    server: {url}\n"
        "users:\n- name: demo\n  user: {}\n"
        "contexts:\n- name: remediator-demo\n"
        "  context: {cluster: remediator-demo, user: demo}\n", encoding="utf-8")
    return path
