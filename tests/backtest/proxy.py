"""A forwarding proxy in front of the real Prometheus: HTTPS with its own CA, the
Authorization headers it saw, and (optionally) one request that never gets an answer."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx

from tests.support.quiet_server import QuietThreadingHTTPServer as ThreadingHTTPServer


@dataclass
class Proxy:
    url: str
    seen_auth: list[str | None] = field(default_factory=list)


@contextlib.contextmanager
def proxy(upstream: str, *, stall_call: int | None = None,
          tls: tuple[Path, Path] | None = None) -> Iterator[Proxy]:
    """Forward GETs to `upstream`; request number `stall_call` (1-based) stalls until
    the proxy closes; `tls` = (certificate, key) serves HTTPS."""
    release = threading.Event()
    calls: list[int] = []
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            calls.append(1)
            seen.append(self.headers.get("Authorization"))
            if len(calls) == stall_call:
                release.wait(60)
                return
            answer = httpx.get(upstream + self.path, timeout=10)
            self.send_response(answer.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Proxy(f"{scheme}://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
