"""Connections end: real sockets against a served instance, every wait bounded.

Header, body and keep-alive deadlines are set to about a second here so each
test takes a few seconds; the defaults (10 s, 30 s, 5 s) are the same code.
"""

from __future__ import annotations

import json
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.edge.serving import Server, running
from tests.support.payloads import crashloop, payload

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # asserts how long refusals take

FAST = ("--header-timeout", "1s", "--body-timeout", "1s", "--keepalive-timeout", "1s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("served"), *FAST) as served:
        yield served


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(5)
    return sock


def _read_until_closed(sock: socket.socket, limit: float = 5) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started, data = time.monotonic(), b""
    while time.monotonic() - started < limit:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - started


def test_a_connection_that_sends_nothing_gets_408_and_is_closed(server: Server) -> None:
    with _connect(server) as sock:
        data, took = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert took < 3


def test_headers_trickled_a_byte_at_a_time_still_meet_the_deadline(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(0.2)
        started, data = time.monotonic(), b""
        while time.monotonic() - started < 5:
            try:
                sock.sendall(b"X")
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            data += chunk
            if not chunk:
                break
        took = time.monotonic() - started
    assert took < 3
    assert data == b"" or data.startswith(b"HTTP/1.1 408 ")


def test_a_body_that_never_finishes_gets_408_and_the_service_goes_on(server: Server) -> None:
    body = json.dumps(payload(crashloop())).encode()
    with _connect(server) as sock:
        sock.sendall(b"POST /webhook/alertmanager HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        data, took = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert took < 3
    assert httpx.get(f"{server.url}/-/healthy", timeout=5).status_code == 200
    assert not [line for line in server.lines if "Traceback" in line]


def test_an_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        data, took = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert took < 3


def test_connections_beyond_the_cap_get_503_at_once(tmp_path: Path) -> None:
    with running(tmp_path, "--max-connections", "3", "--header-timeout", "30s") as served:
        held = [_connect(served) for _ in range(3)]
        try:
            with _connect(served) as extra:
                data, took = _read_until_closed(extra)
            assert data.startswith(b"HTTP/1.1 503 ")
            assert b"too many connections" in data
            assert took < 2
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 10
        while True:  # the server notices the closed sockets on its next loop turn
            response = httpx.get(f"{served.url}/-/healthy", timeout=5)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert response.status_code == 200


def _low_descriptor_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


def test_the_soft_descriptor_limit_is_raised_at_start(tmp_path: Path) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with running(tmp_path, preexec_fn=_low_descriptor_limit) as served:
        limits = Path(f"/proc/{served.process.pid}/limits").read_text()
        line = served.wait_for("connections at most")
    [soft] = [row.split()[3] for row in limits.splitlines() if row.startswith("Max open files")]
    assert int(soft) == min(hard, 65536) > 256
    assert f"descriptor limit {soft}" in line
