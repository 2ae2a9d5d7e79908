"""Store fixtures: an Intake over the parametrised database, with a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediator.app.metrics import Metrics
from remediator.intake.intake import Intake
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.intake_store import IntakeStore

RULES = """\
rules:
  - name: restart-pod
    matchers: ['alertname="KubePodCrashLooping"']
    action: {type: kubernetes.delete_pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
    limits: {cooldown: 10m, max: 5, per: 1h}
    verify: {after: 5m}
  - name: raise-hpa
    matchers: ['alertname="HpaMaxedOut"']
    action: {type: kubernetes.hpa_patch, namespace: "{{ labels.namespace }}", name: "{{ labels.hpa }}", ceiling: 10, revert: true}
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "rules.yml").write_text(RULES)
    return directory


def make_intake(database: Database, rules_dir: Path, clock: FakeClock,
                policy: Policy | None = None) -> Intake:
    metrics = Metrics.create()
    return Intake(store=IntakeStore(database),
                  rulebook=RuleBook([str(rules_dir)], metrics=metrics.rules),
                  policy=policy or Policy(), metrics=metrics.intake, clock=clock)


@pytest.fixture
def intake(database: Database, rules_dir: Path, clock: FakeClock) -> Intake:
    return make_intake(database, rules_dir, clock)
