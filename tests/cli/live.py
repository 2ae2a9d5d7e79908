"""A running service for the CLI to talk to: the real app under uvicorn on a loopback
port (in a thread of the test process), over a SQLite file the test filled first.

The CLI reaches it over real HTTP (httpx), as on-call does; the same file can
be read break-glass at the same time, so both modes answer from the same data.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.web.app import create_app
from remediator.web.server import NO_FORWARDED
from tests.web.conftest import RecordingAction

TOKEN = "cli-webhook-token"
READ_TOKEN = "cli-read-only-token"
RULES = Path(__file__).resolve().parents[2] / "rules"
START_DEADLINE = 30.0


@dataclass(frozen=True)
class Service:
    url: str
    database_url: str
    recorder: RecordingAction


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with listening_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(database_url: str, *, tls: tuple[Path, Path] | None = None,
            **settings: Any) -> Iterator[Service]:
    """The service over `database_url` until the block ends; `tls`: (cert, key) files."""
    recorder = RecordingAction()
    app = create_app(load_settings(**{"rules": [str(RULES)], "database_url": database_url,
                                      "webhook_token": TOKEN, "api_token": READ_TOKEN,
                                      **settings}),
                     scheduler=False, actions=ActionRegistry({"kubernetes.delete_pod": recorder}))
    sock = listening_socket()
    ssl = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])} if tls else {}
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False,
                                           lifespan="on", **ssl, **NO_FORWARDED))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_started(server, thread)
        port = sock.getsockname()[1]
        yield Service(url=f"{'https' if tls else 'http'}://127.0.0.1:{port}",
                      database_url=database_url, recorder=recorder)
    finally:
        server.should_exit = True
        thread.join(timeout=START_DEADLINE)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Until uvicorn says it serves (lifespan done); a failed start fails the test."""
    deadline = time.monotonic() + START_DEADLINE
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.01)
