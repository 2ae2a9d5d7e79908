"""Every line logged while a job runs carries its remediation id and the alert's fingerprint."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from remediator.actions.registry import ActionRegistry
from remediator.app import logs
from remediator.app.settings import load_settings
from remediator.model.actions import ActionRequest, ActionResult
from remediator.model.clock import FakeClock
from remediator.store.audit import log as audit_log
from remediator.store.audit.log import NoMatchLines
from remediator.web.app import create_app
from tests.support.payloads import alert, crashloop, payload
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


# --- no_match at INFO, throttled per alertname (issue 23, item 6) -------------------

class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_match_lines_are_info_at_most_once_a_minute_per_alertname() -> None:
    ticks = Ticks()
    lines = NoMatchLines(clock=ticks, window=60.0)
    assert lines.level("A") == (logging.INFO, 0)
    assert lines.level("B") == (logging.INFO, 0)
    assert lines.level("A") == (logging.DEBUG, 0)
    ticks.now += 59.9
    assert lines.level("A") == (logging.DEBUG, 0)
    ticks.now += 0.1
    assert lines.level("A") == (logging.INFO, 2)  # says how many went to debug
    assert lines.level("A") == (logging.DEBUG, 0)


def test_no_match_lines_forget_old_alertnames_past_capacity() -> None:
    ticks = Ticks()
    lines = NoMatchLines(clock=ticks, window=60.0, capacity=3)
    for name in ("A", "B", "C"):
        assert lines.level(name)[0] == logging.INFO
    assert lines.level("D")[0] == logging.INFO  # full, none expired: forgotten, still bounded
    assert lines.level("D")[0] == logging.DEBUG
    ticks.now += 61
    assert [lines.level(n)[0] for n in ("E", "A")] == [logging.INFO, logging.INFO]


def test_no_match_is_logged_at_info_and_a_storm_is_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = Ticks()
    monkeypatch.setattr(audit_log, "no_match_lines", NoMatchLines(clock=ticks))
    app = create_app(load_settings(rules=[str(RULES)], webhook_token=TOKEN,
                                   database_url=f"sqlite:///{tmp_path / 'r.db'}"),
                     scheduler=False, clock=FakeClock(),
                     actions=ActionRegistry({"kubernetes.delete_pod": ContextRecordingAction()}))
    records: list[logging.LogRecord] = []
    with TestClient(app) as client, _audit_lines(records):
        def deliver(*alerts: dict[str, Any]) -> None:
            assert client.post("/webhook/alertmanager", json=payload(*alerts),
                               headers=auth()).status_code == 200

        deliver(*[alert("DiskAlmostFull", namespace="ops", instance=f"n{i}") for i in range(5)])
        deliver(alert("CertExpiring", namespace="ops"))
        deliver(crashloop())
        deliver(crashloop())  # a duplicate
        ticks.now += 61
        deliver(alert("DiskAlmostFull", namespace="ops", instance="n9"))
    said = [(r.levelname, r.getMessage()) for r in records]
    info = [m for level, m in said if level == "INFO" and m.startswith("no_match")]
    assert info == ["no_match DiskAlmostFull in ops: no rule matches",
                    "no_match CertExpiring in ops: no rule matches",
                    "no_match DiskAlmostFull in ops: no rule matches "
                    "(4 more since the last such line, at debug)"]
    assert [level for level, m in said if m.startswith("no_match")].count("DEBUG") == 4
    assert [level for level, m in said if m.startswith("duplicate")] == ["DEBUG"]


@contextmanager
def _audit_lines(records: list[logging.LogRecord]) -> Iterator[None]:
    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("remediator.audit")
    handler, level = Keep(level=logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
