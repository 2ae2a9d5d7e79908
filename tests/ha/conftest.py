"""A real PostgreSQL database, a kmock cluster and the chart's shared secrets, per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.scenarios.actions import emulator, write_kubeconfig
from tests.ha.replicas import Ledger, Shared, write_shared
from tests.support.postgres import create_database

PODS = 40

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@dataclass
class Cluster:
    shared: Shared
    ledger: Ledger
    workdir: Path
    seen: dict[str, int]
    """The emulator's pid at once; its final counts (`deleted`) once the test ends."""


def _cluster(tmp_path: Path, admin_url: str, *, stall: bool) -> Iterator[Cluster]:
    url = create_database(admin_url, f"ha_{tmp_path.name[-20:].lower()}".replace("-", "_"))
    with emulator(tmp_path / "kube", PODS, stall=stall) as (port, seen):
        shared = write_shared(tmp_path, url, write_kubeconfig(tmp_path / "kubeconfig", port))
        yield Cluster(shared, Ledger(url), tmp_path, seen)


@pytest.fixture
def cluster(tmp_path: Path, postgres_admin_url: str) -> Iterator[Cluster]:
    yield from _cluster(tmp_path, postgres_admin_url, stall=False)


@pytest.fixture
def stalled_cluster(tmp_path: Path, postgres_admin_url: str) -> Iterator[Cluster]:
    """A cluster whose pod deletes never answer (until the test ends): actions stay running."""
    yield from _cluster(tmp_path, postgres_admin_url, stall=True)
