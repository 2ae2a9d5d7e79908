"""The worker with its pre-flight and GitOps gate: SQLite, kmock, a Proposer passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes.client import ApiClient

from remediator.actions.kubernetes.actions import kubernetes_actions
from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.execute.gitops_gate import GitopsConfig, GitopsGate
from remediator.execute.preflight import Preflight, PreflightConfig
from remediator.execute.verify import NoVerifier
from remediator.execute.worker import Worker
from remediator.gitops.proposals import Proposal, ProposalError, ProposalRequest, Proposer
from remediator.intake.intake import Intake
from remediator.model.abc import Verifier
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.intake_store import IntakeStore
from remediator.store.preflight_store import PreflightStore
from remediator.store.service import Store
from tests.gitops_ownership.conftest import NS
from tests.support.payloads import alert

NOW = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


@dataclass
class FakeProposer(Proposer):
    """Records requests; answers a fixed proposal or raises `ProposalError(fail)`."""

    fail: str | None = None
    requests: list[ProposalRequest] = field(default_factory=list)

    def __post_init__(self) -> None:  # the real constructor needs settings; not this one
        pass

    def propose(self, request: ProposalRequest) -> Proposal:
        self.requests.append(request)
        if self.fail:
            raise ProposalError(self.fail)
        return Proposal(branch=request.branch, commit="c0ffee" * 6 + "abcd",
                        pr_url="https://git.example.com/platform/apps/pull/7", diff="-a\n+b",
                        files=("apps/web/deployment.yaml",))


@dataclass
class Rig:
    database: Database
    intake: Intake
    worker: Worker
    clock: FakeClock

    def fire(self, alertname: str = "WebSaturated", **labels: str) -> list[dict[str, Any]]:
        payload = alert(alertname, starts_at=NOW, namespace=NS, deployment="web", **labels)
        return self.intake.receive([Alert.model_validate(payload)], group_key="g")

    def audit(self) -> list[dict[str, Any]]:
        with self.database.reading() as connection:
            items, _ = audit.query(connection, AuditQuery(limit=1000))
        return list(reversed(items))

    def last(self) -> dict[str, Any]:
        return self.audit()[-1]


def build_rig(tmp_path: Path, client: ApiClient, rules: str, *,
              proposer: Proposer | None = None, default: str = "act",
              verifier: Verifier | None = None, retries: int = 0) -> Rig:
    (tmp_path / "rules.yml").write_text(rules)
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    clock = FakeClock(NOW)
    metrics = Metrics.create()
    rulebook = RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules)
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake,
                    clock=clock, rulebook=rulebook)
    actions = ActionRegistry(kubernetes_actions(client, clock=clock))
    gate = GitopsGate(actions=actions, proposer=proposer, clock=clock,
                      config=GitopsConfig(default=default,  # type: ignore[arg-type]
                                          external_url="https://remediator.example"))
    preflight = Preflight(store=PreflightStore(database), actions=actions, clock=clock,
                          rules=rulebook.current.by_name, config=PreflightConfig(),
                          gitops=gate)
    worker = Worker(store=Store(database), policy=intake.policy,
                    rules=rulebook.current.by_name, actions=actions,
                    verifier=verifier or NoVerifier(), metrics=metrics.worker, clock=clock,
                    preflight=preflight, retries=retries)
    return Rig(database, intake, worker, clock)
