"""A throwaway PostgreSQL server for the `postgres` scenario, with stated settings.

Started the way tests/support/postgres.py starts one (the Debian binaries,
`runuser postgres` as root), but durable by default: tests run with
`fsync=off`, which a benchmark of *durably* audited alerts must not.
`settings()` reads back what the server actually runs with, for the report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.service import BenchError, free_port
from tests.support.postgres import _as_owner, _bindir

DEFAULTS = {"listen_addresses": "127.0.0.1", "max_connections": "200", "fsync": "on",
            "synchronous_commit": "on", "shared_buffers": "128MB"}

REPORTED = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
            "wal_sync_method", "commit_delay", "shared_buffers", "max_connections",
            "max_wal_size", "checkpoint_timeout")


@dataclass(frozen=True)
class Cluster:
    url: str
    """postgresql+psycopg:// URL of database `bench`."""
    pid: int
    """The process started (`runuser`, or the postmaster): its tree is the server's CPU."""


@contextlib.contextmanager
def server(base: Path, overrides: Mapping[str, str]) -> Iterator[Cluster]:
    """Start a cluster in `base`, with database `bench`."""
    bindir = _bindir()
    data = base / "pgdata"
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        base.chmod(0o755)
        shutil.chown(data, "postgres")
    subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                              "-U", "remediator"]), check=True, capture_output=True)
    port = free_port()
    options = [arg for key, value in {**DEFAULTS, **overrides}.items()
               for arg in ("-c", f"{key}={value}")]
    process = subprocess.Popen(
        _as_owner([str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                   "-k", str(data), *options]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    admin = f"postgresql://remediator@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(admin, connect_timeout=1):
                    break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("PostgreSQL did not start") from None
                time.sleep(0.1)  # polling readiness against a deadline
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute('CREATE DATABASE "bench"')
        yield Cluster(f"postgresql+psycopg://remediator@127.0.0.1:{port}/bench", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def settings(url: str) -> dict[str, str]:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as connection:
        return {name: str(connection.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in REPORTED}
