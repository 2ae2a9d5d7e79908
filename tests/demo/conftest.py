"""`remediator serve --demo` as a real process: its emulated cluster and its HTTP API.

One demo for the package (it takes seconds to start and its script runs once);
the tests read what it did through the service's API and, for the cluster,
through the emulator's Kubernetes API, as `kubectl` would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.edge.serving import supervised
from tests.support.promstack import free_port

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
WITHIN = 120.0
"""Seconds the demo's script may take on a busy machine (about 30 s on an idle one)."""


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without anything that reaches a cluster or configures us."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")
           and k not in {"KUBECONFIG", "KUBERNETES_SERVICE_HOST"}}
    env.update({"PYTHONPATH": str(ROOT), **extra})
    return env


def demo_argv(*flags: str) -> list[str]:
    return [sys.executable, "-m", "remediator", "serve", "--demo", *flags]


@dataclass
class Demo:
    process: subprocess.Popen[str]
    url: str = ""
    cluster: str = ""
    scratch: str = ""
    lines: list[str] = field(default_factory=list)

    def wait_for(self, text: str, timeout: float = WITHIN) -> str:
        return until(lambda: next((line for line in list(self.lines) if text in line), None),
                     f"{text!r} logged; log:\n" + "\n".join(self.lines[-20:]), timeout,
                     alive=self.process)

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.api("/api/v1/audit", limit=200, **params)["items"]
        return items

    def entry(self, *, rule: str, outcome: str) -> dict[str, Any]:
        """The first audit entry of `rule` with `outcome`, once there is one."""
        return until(lambda: next(iter(self.audit(rule=rule, outcome=outcome)), None),
                     f"{rule} {outcome} in the audit log", alive=self.process)

    def kube(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.cluster}{path}", timeout=10)


def until(probe: Callable[[], T | None], what: str, timeout: float = WITHIN,
          alive: subprocess.Popen[str] | None = None) -> T:
    """Poll `probe` until it answers (the demo's script runs on its own time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        if alive is not None and alive.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"not seen within {timeout:g}s: {what}")


@pytest.fixture(scope="package")
def demo() -> Iterator[Demo]:
    port = free_port()
    lines: list[str] = []
    with supervised(demo_argv("--listen", f"127.0.0.1:{port}"), lines, env=environment(),
                    stop_within=30) as process:
        running = Demo(process, lines=lines)
        announced = json.loads(running.wait_for("demo mode: emulated cluster at"))["msg"]
        running.cluster = re.search(r"emulated cluster at (\S+),", announced)[1]  # type: ignore[index]
        running.scratch = re.search(r"sqlite:///(\S+)/remediator-demo\.db", announced)[1]  # type: ignore[index]
        running.wait_for("listening on")
        running.url = f"http://127.0.0.1:{port}"
        yield running
    # Stopped by SIGTERM as a service manager would: exit through Python, which removes
    # the demo's temporary directory (its SQLite file, kubeconfig and audit key).
    assert process.returncode == 143, "\n".join(running.lines[-20:])
    assert running.scratch and not Path(running.scratch).exists()
