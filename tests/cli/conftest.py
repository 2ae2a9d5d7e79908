"""CLI fixtures: a SQLite database holding the decisions of a few alerts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from remediator.app.metrics import Metrics
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import utcnow
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.intake_store import IntakeStore
from tests.support.payloads import crashloop

ROOT = Path(__file__).resolve().parents[2]


def decided(url: str, alerts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decide `alerts` (payload dicts) with the example rules into the database at `url`."""
    database = Database(url)
    database.migrate()
    metrics = Metrics.create()
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=utcnow,
                    rulebook=RuleBook([str(ROOT / "rules")], metrics=metrics.rules))
    decisions = intake.receive([Alert.model_validate(alert) for alert in alerts],
                               group_key="g")
    database.dispose()
    return decisions


@pytest.fixture
def filled_db(tmp_path: Path) -> str:
    """A database with an executed and a denied decision."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    decided(url, [crashloop(pod=p) for p in ("a", "b; x")])
    return url
