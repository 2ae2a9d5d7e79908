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
import collections
import json
import signal
from pathlib import Path
from typing import Any

import kmock

PODS = "v1/pods"
KEPT_REQUESTS = 16


class RecentRequests(collections.deque[Any]):
    """The emulator's request log, bounded, with the total count kept.

    kmock records every request for test assertions and, to route each new
    one, scans what it recorded: the cost per request grows with the requests
    served, so a few hundred actions made the emulator, not the service, the
    bottleneck (a real API server does not slow down with its history). The
    benchmark asserts on nothing but the count. The request being routed is
    the newest, so the log needs to hold only the requests in flight at once
    (the official client's pool holds 10 connections; 16 leaves a margin: a
    request evicted while routed would be answered 404 and fail the run).
    """

    def __init__(self) -> None:
        super().__init__(maxlen=KEPT_REQUESTS)
        self.total = 0

    def append(self, request: Any) -> None:
        self.total += 1
        super().append(request)


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
    async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
        requests = RecentRequests()
        emulator._requests = requests  # type: ignore[assignment]  # see RecentRequests
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
