"""A threaded loopback HTTP server for test doubles that never prints.

`socketserver` prints a handler's exception (e.g. BrokenPipeError when a
Prometheus scrape or a client timed out and hung up) to `sys.stderr` from its
own thread. Under load that lands in whatever stream another test is
capturing at that moment (typer's CliRunner swaps `sys.stderr`), breaking an
unrelated test's output. Errors go to `logging` instead, where pytest keeps
them per test.
"""

from __future__ import annotations

import logging
from http.server import ThreadingHTTPServer
from typing import Any

log = logging.getLogger("tests.http")


class QuietThreadingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("test server: request from %s failed", client_address, exc_info=True)
