"""Fixtures for the contract suites, reused from the suites that own them (not copied).

The Kubernetes client against kmock's emulator (`tests.actions`), local
Ansible inventories (`tests.ansible`), and Prometheus servers that answer,
stall or refuse (`tests.prometheus`): each contract runs the real
implementations against them. `source` is one Prometheus situation, for the
interfaces that ask Prometheus (the verifier, the precondition checker's
querier).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from remediator.clients.prometheus import PrometheusConfig
from tests.actions.conftest import client, cluster
from tests.ansible.conftest import inventory
from tests.prometheus.conftest import TlsServer, exporter, prometheus, stalled_url, tls_server
from tests.support import promstack

__all__ = ["client", "cluster", "exporter", "inventory", "prometheus", "source", "stalled_url",
           "tls_server"]



def _fast(url: str, ca_file: Path | None = None) -> PrometheusConfig:
    """Short timeouts: a source that cannot answer says so quickly."""
    return PrometheusConfig(url=url, ca_file=ca_file, connect_timeout=0.2, read_timeout=0.3)


@dataclass(frozen=True)
class Source:
    """A Prometheus in one situation, and a query to put to it."""

    config: PrometheusConfig
    expr: str
    answers: bool
    """Whether it answers `expr` (else the implementation must say it could not)."""


@pytest.fixture(params=["answering", "untrusted", "stalled", "refused",
                        pytest.param("rejecting", marks=pytest.mark.e2e)])
def source(request: pytest.FixtureRequest) -> Source:
    if request.param in ("answering", "untrusted"):
        server: TlsServer = request.getfixturevalue("tls_server")
        ca_file = server.ca_file if request.param == "answering" else None
        return Source(_fast(server.url, ca_file), "up",
                      answers=request.param == "answering")
    if request.param == "stalled":
        url: str = request.getfixturevalue("stalled_url")
        return Source(_fast(url), "up", answers=False)
    if request.param == "refused":
        url = f"http://127.0.0.1:{promstack.free_port()}"
        return Source(_fast(url), "up", answers=False)
    real: promstack.Prometheus = request.getfixturevalue("prometheus")
    return Source(PrometheusConfig(url=real.url), "sum(up", answers=False)  # a parse error
