"""A diagnostic play's report is part of the remediation's evidence (issue 23).

playbooks/diagnose/node.yml runs for real through ansible-runner (the node's
tools are the stand-ins of test_diagnose_plays), as the first rung of the
shipped `restart-k3s-service` rule, in the running app. Its report used to
land only in the audit entry's detail; now the API's `evidence`, the detail
page's summary and `remediator show` carry it, redacted and within the
evidence size cap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from remediator.actions.ansible.action import AnsiblePlaybookAction
from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.cli import app as cli
from remediator.model.clock import FakeClock
from remediator.web.app import create_app
from tests.ansible.conftest import PLAYBOOKS, REPO, FakeNode
from tests.ansible.test_diagnose_plays import cluster, sick_node  # noqa: F401  (fixture)
from tests.support.payloads import alert, payload
from tests.web.conftest import TOKEN, auth, drain, post_login

pytestmark = pytest.mark.ansible

FINDING = "service k3s-agent is not active"


@contextmanager
def diagnosed(tmp_path: Path, clock: FakeClock, hosts: dict[str, Any], node: FakeNode,
              **settings: Any) -> Iterator[tuple[TestClient, str, str]]:
    """The app after a K3sServiceDown on worker-1 ran its diagnosis: client, id, database."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    action = AnsiblePlaybookAction(PLAYBOOKS, inventory=hosts, envvars=node.env())
    app = create_app(load_settings(rules=[str(REPO / "rules" / "node-repairs.yml")],
                                   database_url=url, webhook_token=TOKEN, **settings),
                     scheduler=False, clock=clock,
                     actions=ActionRegistry({"ansible.playbook": action}))
    with TestClient(app) as client:
        response = client.post("/webhook/alertmanager", headers=auth(), json=payload(
            alert("K3sServiceDown", node="worker-1", namespace="")))
        rid = response.json()["decisions"][0]["remediation_id"]
        drain(client)
        yield client, rid, url


def test_the_report_is_evidence_in_the_api_the_page_and_show(
        tmp_path: Path, clock: FakeClock, sick_node: Path,  # noqa: F811
        fake_node: FakeNode, inventory: Callable[..., dict[str, Any]]) -> None:
    hosts = cluster(inventory, fake_node, sick_node, diagnose_node_disk_warn_percent=101)
    with diagnosed(tmp_path, clock, hosts, fake_node) as (client, rid, url):
        view = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()
        assert view["state"] == "succeeded", view["timeline"]
        [report] = [s for s in view["evidence"] if s["phase"] == "report"]
        document = report["document"]
        assert document["target"] == "playbook:diagnose/node.yml/worker-1"
        host = document["diagnosis"]["worker-1"]
        assert FINDING in host["findings"]
        assert host["services"]["k3s-agent"]["ActiveState"] == "failed"
        assert any("<redacted>" in line for line in host["journal"]["k3s-agent"])
        assert "hunter2-very-secret" not in json.dumps(view)
        [finding] = view["summary"]["reports"]
        assert finding["host"] == "worker-1" and FINDING in finding["findings"]

        post_login(client, TOKEN)
        page = client.get(f"/remediations/{rid}").text
        summary = page[page.index('id="summary"'):page.index('id="timeline"')]
        assert "diagnosis of worker-1" in summary and f"<li>{FINDING}</li>" in summary

    shown = CliRunner().invoke(cli, ["show", rid, "--database-url", url],
                               env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert f"diagnosis of worker-1: {FINDING}" in shown.output


def test_a_report_over_the_size_cap_keeps_its_findings(
        tmp_path: Path, clock: FakeClock, sick_node: Path,  # noqa: F811
        fake_node: FakeNode, inventory: Callable[..., dict[str, Any]]) -> None:
    hosts = cluster(inventory, fake_node, sick_node, diagnose_node_disk_warn_percent=101,
                    diagnose_node_journal_lines=50)
    with diagnosed(tmp_path, clock, hosts, fake_node, evidence_max_bytes=1024) as (
            client, rid, _):
        view = client.get(f"/api/v1/remediations/{rid}", headers=auth()).json()
    [report] = [s["document"] for s in view["evidence"] if s["phase"] == "report"]
    assert len(json.dumps(report, separators=(",", ":")).encode()) <= 1024
    assert "disk" in report["truncated"] and "findings" not in report["truncated"]
    assert FINDING in report["diagnosis"]["worker-1"]["findings"]
    audit = [e for e in view["timeline"] if e["outcome"] == "succeeded"]
    assert audit and "stats" in audit[0]["detail"]  # the audit entry keeps its detail too
