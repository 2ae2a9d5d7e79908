"""Every line logged while a job runs carries its remediation id and the alert's fingerprint."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app import logs
from remediator.app.settings import load_settings
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.support.payloads import crashloop, payload
from tests.web.conftest import RULES, TOKEN, auth, drain


class ContextRecordingAction:
    """Logs a line, as a client library would, and keeps the context it ran in."""

    def __init__(self) -> None:
        self.seen: list[Mapping[str, str]] = []

    async def run(self, request: ActionRequest) -> ActionResult:
        logging.getLogger("kubernetes.client").info("deleting %s", request.target)
        self.seen.append(dict(logs.context()))
        return ActionResult(message="deleted")


def test_job_lines_carry_remediation_id_and_fingerprint(tmp_path: Path) -> None:
    action = ContextRecordingAction()
    app = create_app(load_settings(rules=[str(RULES)], webhook_token=TOKEN,
                                   database_url=f"sqlite:///{tmp_path / 'r.db'}"),
                     scheduler=False, clock=FakeClock(),
                     actions=ActionRegistry({"kubernetes.delete_pod": action}))
    lines: list[dict[str, Any]] = []
    root = logging.getLogger()
    level = root.level
    with TestClient(app) as client:
        handler_lines = _capture(lines)
        try:
            body = payload(crashloop())
            decision = client.post("/webhook/alertmanager", json=body,
                                   headers=auth()).json()["decisions"][0]
            drain(client)
        finally:
            root.removeHandler(handler_lines)
            root.setLevel(level)
    remediation_id = decision["remediation_id"]
    fingerprint = body["alerts"][0]["fingerprint"]
    assert action.seen == [{"remediation_id": remediation_id, "fingerprint": fingerprint,
                            "job": action.seen[0]["job"]}]
    [client_line] = [line for line in lines if line["logger"] == "kubernetes.client"]
    assert client_line["remediation_id"] == remediation_id
    assert client_line["fingerprint"] == fingerprint
    outcomes = {line["msg"].split()[0]: line for line in lines
                if line["logger"] == "remediator.audit"}
    assert outcomes["executed"]["remediation_id"] == remediation_id
    assert outcomes["succeeded"]["remediation_id"] == remediation_id
    assert outcomes["succeeded"]["level"] == "info"


def _capture(lines: list[dict[str, Any]]) -> logging.Handler:
    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect(level=logging.INFO)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler
