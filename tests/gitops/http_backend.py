"""`git http-backend` behind a small HTTP server that wants a token (Basic auth), for tests.

The server is real git's smart-HTTP CGI; only the CGI bridge is ours. It
records every Authorization header it saw so tests can check what was sent.
"""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.quiet_server import QuietThreadingHTTPServer as ThreadingHTTPServer

BACKEND = "/usr/lib/git-core/git-http-backend"


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def make_handler(root: Path, user: str, token: str, seen: list[str]) -> type:
    expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            auth = self.headers.get("Authorization")
            seen.append(auth or "")
            body = _body(self)
            if auth != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._cgi(body)

        def _cgi(self, body: bytes) -> None:
            url = urlsplit(self.path)
            env = {"GIT_PROJECT_ROOT": str(root), "GIT_HTTP_EXPORT_ALL": "1",
                   "PATH_INFO": url.path, "QUERY_STRING": url.query,
                   "REQUEST_METHOD": self.command, "REMOTE_USER": user,
                   "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                   "CONTENT_LENGTH": str(len(body)), "PATH": "/usr/bin:/bin"}
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            out = subprocess.run([BACKEND], input=body, env=env, capture_output=True).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            headers = [line.split(b":", 1) for line in head.split(b"\r\n") if b":" in line]
            status = next((int(v.split()[0]) for k, v in headers if k.lower() == b"status"), 200)
            self.send_response(status)
            for key, value in headers:
                if key.lower() != b"status":
                    self.send_header(key.decode(), value.strip().decode())
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

    return Handler


@contextmanager
def serve(root: Path, user: str, token: str) -> Iterator[tuple[str, list[str]]]:
    """Serve the repositories under `root` on loopback; yield (base URL, headers seen)."""
    seen: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(root, user, token, seen))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
