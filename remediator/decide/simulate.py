"""`remediator simulate`: what would happen to these alerts, executing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from remediator.decide.engine import decide
from remediator.decide.state import MemoryState
from remediator.model.alerts import Alert, WebhookPayload
from remediator.model.policy import Policy
from remediator.rules.model import RuleSet

_ALERT_LIST = TypeAdapter(list[Alert])


def read_alerts(path: Path) -> list[Alert]:
    """A webhook payload, or a plain JSON list of alerts; ValueError on anything else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read JSON: {error}") from None
    try:
        if isinstance(data, dict):
            return list(WebhookPayload.model_validate(data).alerts)
        return _ALERT_LIST.validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = ".".join(map(str, first["loc"]))
        raise ValueError(f"{path}: {loc}: {first['msg']}") from None


def simulate(alerts: list[Alert], rules: RuleSet, policy: Policy,
             now: datetime | None = None) -> list[dict[str, Any]]:
    """Decisions in arrival order, with guards applied as if on an empty history."""
    state = MemoryState()
    now = now or datetime.now(UTC)
    out: list[dict[str, Any]] = []
    for alert in alerts:
        out.extend(d.summary() for d in decide(alert, rules=rules, policy=policy, state=state,
                                               now=now))
    return out
