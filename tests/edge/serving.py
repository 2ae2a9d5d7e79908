"""`remediator serve` as a real process on a real port, for start-up and socket tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.promstack import free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"


def serve_argv(*flags: str) -> list[str]:
    return [sys.executable, "-m", "remediator", "serve", *flags]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMEDIATOR_")}
    env.update({"PYTHONPATH": str(ROOT), "KUBECONFIG": "/nonexistent", **extra})
    env.pop("KUBERNETES_SERVICE_HOST", None)
    return env


def run_once(*flags: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `serve` expecting it to exit by itself (a start-up error)."""
    return subprocess.run(serve_argv(*flags), capture_output=True, text=True, timeout=timeout,
                          env=environment(**env), cwd=ROOT, check=False)


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def records(self) -> list[dict[str, object]]:
        found = []
        for line in list(self.lines):
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
        return found

    def wait_for(self, text: str, *, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged; log:\n" + "\n".join(self.lines[-30:]))


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line.rstrip("\n"))


@contextlib.contextmanager
def supervised(argv: list[str], lines: list[str], *, env: dict[str, str],
               preexec_fn: Callable[[], None] | None = None,
               stop_within: float = 20) -> Iterator[subprocess.Popen[str]]:
    """A process whose stderr lines land in `lines`; stopped with SIGTERM at the end (as
    a service manager would), killed if it is not gone within `stop_within` seconds."""
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               text=True, env=env, cwd=ROOT, preexec_fn=preexec_fn)
    reader = threading.Thread(target=_collect, args=(process, lines), daemon=True)
    reader.start()
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=stop_within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def running(tmp_path: Path, *flags: str, port: int | None = None,
            preexec_fn: Callable[[], None] | None = None, database_url: str | None = None,
            **env: str) -> Iterator[Server]:
    """A served instance (--dev; SQLite in tmp_path unless `database_url`); stopped with
    SIGTERM at the end."""
    port = port or free_port()
    argv = serve_argv("--dev", "--listen", f"127.0.0.1:{port}", "--rules", str(RULES),
                      "--database-url", database_url or f"sqlite:///{tmp_path / 'r.db'}",
                      "--kubernetes", "off", *flags)
    lines: list[str] = []
    with supervised(argv, lines, env=environment(**env), preexec_fn=preexec_fn) as process:
        server = Server(process, port, lines)
        server.wait_for("Application startup complete")
        yield server
