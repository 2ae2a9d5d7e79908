"""`remediator approve` on an expired request: refused, still `expired`, and audited
(issue 20, item 9): the CLI answers through the same `approvals` path as the API."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from remediator.app.metrics import Metrics
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock, utcnow
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.intake_store import IntakeStore
from tests.cli.test_console_cli import ROOT, run
from tests.support.payloads import crashloop


def awaiting_since(url: str, ago: timedelta) -> str:
    """An approval request decided `ago` (its rule's timeout is 30m)."""
    database = Database(url)
    database.migrate()
    metrics = Metrics.create()
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake,
                    clock=FakeClock(utcnow() - ago),
                    rulebook=RuleBook([str(ROOT / "rules")], metrics=metrics.rules))
    alert = crashloop(pod="pay-0", namespace="apps-payments", deployment="pay")
    [decision] = intake.receive([Alert.model_validate(alert)], group_key="g")
    database.dispose()
    assert decision["outcome"] == "awaiting_approval"
    rid: str = decision["remediation_id"]
    return rid


def test_approving_an_expired_request_from_the_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    rid = awaiting_since(url, timedelta(hours=1))
    refused = run("approve", rid[:8], "--reason", "back from lunch", "--database-url", url,
                  REMEDIATOR_KUBERNETES="off")
    assert refused.exit_code == 1
    # The expiry and the refused attempt are both kept.
    expired = json.loads(run("audit", "--json", "--outcome", "expired",
                             "--database-url", url).output)
    assert [e["remediation_id"] for e in expired] == [rid]
    [attempt] = json.loads(run("audit", "--json", "--outcome", "operator",
                               "--database-url", url).output)
    assert attempt["action"] == "approve"
    assert attempt["detail"]["actor"].startswith("cli:")
    assert attempt["reason"].startswith("approve refused: the approval request expired at")
    assert attempt["reason"].endswith("(reason given: back from lunch)")
    status = json.loads(run("status", "--json", "--database-url", url).stdout)
    assert status["awaiting_approval"] == 0
    said = " ".join(refused.output.split())  # the console wraps at its width
    assert f"remediation {rid[:8]} is expired, not awaiting approval" in said
