"""kmock's KubernetesEmulator as a standalone process, for the `actions` scenario.

    python -m bench.kube_emulator --pods 500 --namespace apps-bench --state-file F

Serves the emulator on a loopback port (the same emulator tests/actions uses,
reached by the service through the official client and a kubeconfig), seeded
with N pods. Writes {"port": P} to the state file when serving, and on SIGTERM
rewrites it with {"port": P, "deleted": K, "requests": R} so the benchmark can
check that every action really reached the API server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock

PODS = "v1/pods"


class InFlightRequests:
    """The emulator's request log, holding only the requests being served, with the
    total count kept.

    kmock records every request for test assertions and, to route each new
    one, walks that log through every reaction's filter: its cost per request
    grows with the requests it has served, and even a fixed window of 16 made
    the emulator spend ~60 % of its time routing, on the same two cores as the
    service (a real API server routes by path). The benchmark asserts on
    nothing but the count. A request must stay in the log while it is routed
    (routing finds it there by identity, else it is answered 404 and fails
    the run), and no longer: `InFlightEmulator` forgets it once answered.
    """

    def __init__(self) -> None:
        self._serving: dict[int, Any] = {}
        self.total = 0

    def append(self, request: Any) -> None:
        self.total += 1
        self._serving[id(request)] = request
        _current.set(request)

    def forget_current(self) -> None:
        request = _current.get(None)
        if request is not None:
            self._serving.pop(id(request), None)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._serving.values()))

    def __len__(self) -> int:
        return len(self._serving)


_current: contextvars.ContextVar[Any] = contextvars.ContextVar("bench_request")
"""The request this handler task is serving (set by `InFlightRequests.append`, which
kmock calls in the task that then answers it)."""


class InFlightEmulator(kmock.KubernetesEmulator):
    """kmock's emulator whose request log forgets each request once it is answered."""

    async def __call__(self, raw_request: Any) -> Any:
        try:
            return await super().__call__(raw_request)
        finally:
            requests = self._requests
            if isinstance(requests, InFlightRequests):
                requests.forget_current()


def pod(namespace: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1",
                         "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}


def pod_name(index: int) -> str:
    return f"bench-{index:06d}"


async def serve(pods: int, namespace: str, state_file: Path, *, stall: bool = False) -> None:
    stop = asyncio.Event()
    stalled = asyncio.Event()  # set at shutdown, so stalled handlers finish
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with InFlightEmulator() as emulator, kmock.Server(emulator) as server:
        requests = InFlightRequests()
        emulator._requests = requests  # type: ignore[assignment]  # see InFlightRequests
        for index in range(pods):
            name = pod_name(index)
            emulator.objects[PODS, namespace, name] = pod(namespace, name)
        if stall:  # a pod delete never answers: the action hangs, as on a sick API server
            emulator["delete", emulator.resource(PODS)] << stalled.wait
        write_state(state_file, {"port": server.port})
        await stop.wait()
        stalled.set()
        deleted = sum(1 for index in range(pods)
                      if emulator.objects[PODS, namespace, pod_name(index)].deleted)
        write_state(state_file, {"port": server.port, "deleted": deleted,
                                 "requests": requests.total})


def write_state(path: Path, state: dict[str, int]) -> None:
    """Atomically (rename), so the benchmark never reads half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(state))
    partial.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--namespace", default="apps-bench")
    parser.add_argument("--state-file", type=Path, required=True)
    parser.add_argument("--stall", action="store_true", help="pod deletes never answer")
    args = parser.parse_args()
    asyncio.run(serve(args.pods, args.namespace, args.state_file, stall=args.stall))


if __name__ == "__main__":
    main()
