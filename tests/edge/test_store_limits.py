"""Limits as data, not crashes: what the webhook accepts, every column holds.

Each case goes through POST /webhook/alertmanager on SQLite and on a real
PostgreSQL and must get the same answer: 200 with the alert stored, or a
422 that names the field. Never a 500 (a database error loses the delivery
and Alertmanager retries it forever). SQLite does not enforce VARCHAR
lengths, so only the validation at parse time makes the two agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, String

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.model.alerts import ALERTNAME_MAX, NAMESPACE_MAX
from remediator.model.clock import FakeClock
from remediator.store.tables import audit, remediations
from remediator.web.app import create_app
from tests.support.keys import shared_audit_key
from tests.support.payloads import alert, crashloop, payload
from tests.web.conftest import READ_TOKEN, RULES, TOKEN, RecordingAction, auth

WIDE = "\U0001d538"  # 4 bytes in UTF-8: the widest a btree entry can get per character


@pytest.fixture
def backend(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:
    settings = load_settings(rules=[str(RULES)], database_url=database_url,
                             webhook_token=TOKEN, api_token=READ_TOKEN, state_dir=tmp_path,
                             audit_key_file=shared_audit_key(tmp_path), session_key="k" * 32)
    app = create_app(settings, scheduler=False, clock=clock,
                     actions=ActionRegistry({"kubernetes.delete_pod": RecordingAction()}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def _labelled(**labels: str) -> dict[str, Any]:
    crash = crashloop()
    return _with(crash, labels={**crash["labels"], **labels}, fingerprint="")


ACCEPTED = [
    pytest.param(alert("A" * ALERTNAME_MAX), id="longest-alertname"),
    pytest.param(alert(WIDE * ALERTNAME_MAX, namespace=WIDE * NAMESPACE_MAX),
                 id="widest-alertname-and-namespace"),
    pytest.param(_labelled(namespace="apps-" + "n" * (NAMESPACE_MAX - 5)), id="longest-namespace"),
    pytest.param(_labelled(description="d" * 16384), id="16KiB-label-value"),
    pytest.param(_labelled(description="\u00e9" * 16384), id="32KB-utf8-label-value"),
    pytest.param(_labelled(**{"l" * 1024: "v"}), id="longest-label-name"),
    pytest.param(_labelled(pod="p" * 16384), id="16KiB-pod-name-denied"),
    pytest.param(_labelled(pod="p" * 300, node="n" * 16384, service="s" * 300),
                 id="long-related-labels"),
    pytest.param(_with(crashloop(), annotations={"summary": "s" * 16384,
                                                 "runbook_url": "u" * 16384}),
                 id="16KiB-annotations"),
    pytest.param(_with(crashloop(), generatorURL="g" * 8192), id="longest-generator-url"),
]

REFUSED = [
    pytest.param(alert("A" * (ALERTNAME_MAX + 1)), "alertname", id="alertname-too-long"),
    pytest.param(alert("A" * 300), "alertname", id="300-char-alertname"),
    pytest.param(_labelled(namespace="n" * (NAMESPACE_MAX + 1)), "namespace",
                 id="namespace-too-long"),
    pytest.param(_with(crashloop(), fingerprint="f" * 65), "fingerprint",
                 id="fingerprint-too-long"),
    pytest.param(_with(crashloop(), fingerprint="ab\x00cd"), "fingerprint", id="nul-fingerprint"),
    pytest.param(_with(crashloop(), generatorURL="http://x/\x00"), "generatorURL",
                 id="nul-generator-url"),
    pytest.param(_labelled(**{"bad\x00name": "v"}), "labels", id="nul-label-name"),
]


@pytest.mark.parametrize("sent", ACCEPTED)
def test_what_the_webhook_accepts_is_stored(backend: TestClient, sent: dict[str, Any]) -> None:
    response = backend.post("/webhook/alertmanager", json=payload(sent), headers=auth())
    assert response.status_code == 200, response.text
    [decision] = response.json()["decisions"]
    entries = backend.get("/api/v1/audit", params={"outcome": decision["outcome"]},
                          headers=auth(READ_TOKEN)).json()["items"]
    assert [e["labels"] for e in entries] == [sent["labels"]]  # (the action may run too)


@pytest.mark.parametrize(("sent", "field"), REFUSED)
def test_what_no_column_holds_is_refused_naming_the_field(
        backend: TestClient, sent: dict[str, Any], field: str) -> None:
    response = backend.post("/webhook/alertmanager", json=payload(sent), headers=auth())
    assert response.status_code == 422, response.text
    assert field.lower() in response.json()["error"].lower()
    entries = backend.get("/api/v1/audit", headers=auth(READ_TOKEN)).json()["items"]
    assert [e["outcome"] for e in entries] == ["rejected"]  # audited, NUL and all


@pytest.mark.parametrize("group_key", [pytest.param("g" * 8192, id="longest"),
                                       pytest.param("g\x00k", id="nul")])
def test_the_group_key_is_stored_or_refused(backend: TestClient, group_key: str) -> None:
    response = backend.post("/webhook/alertmanager", json=payload(crashloop(), group_key=group_key),
                            headers=auth())
    assert response.status_code == (422 if "\x00" in group_key else 200), response.text


def test_the_columns_hold_what_validation_lets_through() -> None:
    """The bounds are the columns' widths: widening one is a migration, not a 500."""
    for table in (audit, remediations):
        alertname, namespace = table.c.alertname.type, table.c.namespace.type
        assert isinstance(alertname, String) and isinstance(namespace, String)
        assert (alertname.length or 0) >= ALERTNAME_MAX, table.name
        assert (namespace.length or 0) >= NAMESPACE_MAX, table.name


def _width(column: Column[Any]) -> int:
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


def test_the_key_and_target_columns_hold_the_longest_values_validation_allows() -> None:
    """Built from bounded parts (rule names <= 128, fingerprints <= 64, Kubernetes
    names, a playbook path <= 255 and one host), never from a raw label."""
    from datetime import UTC, datetime

    from pydantic import TypeAdapter

    from remediator.decide.decision import idempotency_key, unavailable_key
    from remediator.rules.specs import ActionSpec

    key = unavailable_key(idempotency_key("r" * 128, "f" * 64,
                                          datetime(9999, 12, 31, tzinfo=UTC), 10))
    assert len(key) <= _width(remediations.c.key)
    specs = TypeAdapter(ActionSpec)
    pod = specs.validate_python({"type": "kubernetes.delete_pod", "namespace": "n" * 63,
                                 "name": "p" * 253})
    play = specs.validate_python({"type": "ansible.playbook", "playbook": "p" * 251 + ".yml",
                                  "limit": "h" * 63 + ("." + "h" * 63) * 2 + "." + "h" * 61})
    for spec in (pod, play):
        target = spec.render({}, {}).target
        assert len(target) <= min(_width(remediations.c.target), _width(audit.c.target))


def test_an_alert_from_alertmanagers_api_that_the_webhook_refuses_is_skipped() -> None:
    from remediator.model.alerts import ApiAlert

    reported = [ApiAlert.model_validate({**alert(name), "status": {"state": "active"}})
                for name in ("A" * 300, "Fine")]
    assert [a.alertname for api in reported if (a := api.decidable())] == ["Fine"]
