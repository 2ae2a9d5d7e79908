"""An unreachable API server, through the worker, the real actions and the official client
(issue 23): one quiet attempt per job, and the audit log says which server it could not reach.

Nothing of the client is patched: it is built as the service builds it
(`api_client`) for a loopback port nothing listens on.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import close_api_client, kubernetes_actions
from remediator.actions.kubernetes.client import api_client
from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.execute.worker import Worker
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.intake_store import IntakeStore
from remediator.store.service import Store
from tests.support.payloads import crashloop

ROOT = Path(__file__).resolve().parents[2]


class _NoVerifier:
    async def check(self, labels: object, expr: str | None) -> tuple[Any, str]:
        raise AssertionError("nothing is verified: the action never ran")


@pytest.fixture
def server() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"https://127.0.0.1:{port}"


@pytest.fixture
def client(server: str) -> Iterator[ApiClient]:
    built = api_client(Configuration(host=server))
    yield built
    close_api_client(built)


async def test_the_audit_log_names_the_unreachable_api_server(
        tmp_path: Path, server: str, client: ApiClient, clock: FakeClock,
        caplog: pytest.LogCaptureFixture) -> None:
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    metrics = Metrics.create()
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake,
                    clock=clock, rulebook=RuleBook([str(ROOT / "rules")], metrics=metrics.rules))
    worker = Worker(store=Store(database), policy=intake.policy,
                    rules=intake.rulebook.current.by_name,
                    actions=ActionRegistry(kubernetes_actions(client, clock=clock)),
                    verifier=_NoVerifier(), metrics=metrics.worker, clock=clock, retries=2,
                    timeout_grace=1.0)
    [decision] = intake.receive([Alert.model_validate(crashloop(pod="web-1"))], group_key="g")
    assert decision["outcome"] == "executed"
    caplog.set_level(logging.DEBUG)

    await worker.drain()

    with database.reading() as connection:
        items, _ = audit.query(connection, AuditQuery(limit=10))
    database.dispose()
    failed = next(e for e in items if e["outcome"] == "failed")
    assert (f"cannot reach the Kubernetes API at {server}: connection refused"
            in failed["reason"]), failed["reason"]
    retrying = [r.getMessage() for r in caplog.records if "Retrying" in r.getMessage()]
    assert not retrying, retrying
