"""A worker over a real SQLite store, with actions and a verifier of our own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.execute.worker import Worker
from remediator.intake.intake import Intake
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.clock import FakeClock
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.intake_store import IntakeStore
from remediator.store.service import Store

RULES = """\
rules:
  - name: restart-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}", timeout: 1s}
    limits: {cooldown: 0s}
    verify: {after: 5m}
    escalate:
      - {type: kubernetes.rollout_restart, namespace: "{{ labels.namespace }}", name: "{{ labels.deployment }}"}
  - name: restart-pod-slowly
    matchers: ['alertname="PodCrashLoopingSlowly"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}", timeout: 1s}
    limits: {cooldown: 10m, max: 1, per: 1h}
  - name: free-disk-rehearsal
    matchers: ['alertname="NodeFilesystemAlmostFull"']
    action: {type: ansible.playbook, playbook: repair/free_disk.yml, limit: "{{ labels.node }}", check_in_dry_run: true}
    dry_run: true
  - name: free-disk-quiet
    matchers: ['alertname="NodeDiskQuiet"']
    action: {type: ansible.playbook, playbook: repair/free_disk.yml, limit: "{{ labels.node }}"}
    dry_run: true
"""


@dataclass
class ScriptedAction:
    """Answers each call with the next scripted result (an ActionResult or an error)."""

    script: list[ActionResult | Exception | str] = field(default_factory=list)
    calls: list[ActionRequest] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, request: ActionRequest) -> ActionResult:
        self.calls.append(request)
        self.started.set()
        step = self.script.pop(0) if self.script else ActionResult(message="done")
        if step == "hang":
            await asyncio.Event().wait()
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, ActionResult)
        return step


@dataclass
class ScriptedVerifier:
    answers: list[Outcome] = field(default_factory=list)
    asked: list[tuple[Mapping[str, str], str | None]] = field(default_factory=list)

    async def check(self, labels: Mapping[str, str], expr: str | None) -> tuple[Outcome, str]:
        self.asked.append((labels, expr))
        return (self.answers.pop(0) if self.answers else Outcome.VERIFIED), "scripted"


@dataclass
class Rig:
    database: Database
    intake: Intake
    worker: Worker
    delete: ScriptedAction
    restart: ScriptedAction
    verifier: ScriptedVerifier
    clock: FakeClock
    metrics: Metrics
    play: ScriptedAction


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Rig:
    (tmp_path / "rules.yml").write_text(RULES)
    database = Database(f"sqlite:///{tmp_path / 'r.db'}")
    database.migrate()
    metrics = Metrics.create()
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=clock,
                    rulebook=RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules))
    delete, restart, play = ScriptedAction(), ScriptedAction(), ScriptedAction()
    verifier = ScriptedVerifier()
    registry = ActionRegistry({"kubernetes.delete_pod": delete,
                               "kubernetes.rollout_restart": restart,
                               "kubernetes.hpa_revert": restart,
                               "ansible.playbook": play})
    worker = Worker(store=Store(database), policy=intake.policy,
                    rules=lambda name: intake.rulebook.current.by_name(name),
                    actions=registry, verifier=verifier,
                    metrics=metrics.worker, clock=clock, retries=2, timeout_grace=0.1)
    return Rig(database, intake, worker, delete, restart, verifier, clock, metrics, play)
