"""A proposal on `remediator show`, the detail page and GET /api/v1/remediations/{id}."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from kubernetes.client import ApiClient
from typer.testing import CliRunner

from remediator.actions.registry import ActionRegistry
from remediator.app.settings import load_settings
from remediator.cli import app as cli
from remediator.web.app import create_app
from tests.gitops_ownership.conftest import APPS, DEPLOYMENTS, NS, World, application, deployment
from tests.gitops_ownership.rig import FakeProposer, build_rig
from tests.web.conftest import READ_TOKEN, TOKEN, auth, post_login

PR = "https://git.example.com/platform/apps/pull/7"
RULES = """\
rules:
  - name: scale-web
    matchers: ['alertname="WebSaturated"']
    action: {type: kubernetes.scale, namespace: "{{ labels.namespace }}",
             name: "{{ labels.deployment }}", step: 2, max: 10}
    gitops: propose
"""


async def test_proposal_is_shown_everywhere(tmp_path: Path, client: ApiClient,
                                            world: World) -> None:
    world.add(DEPLOYMENTS, deployment(annotations={
        "argocd.argoproj.io/tracking-id": f"shop-web:apps/Deployment:{NS}/web"}, replicas=3))
    world.add(APPS, application())
    rig = build_rig(tmp_path, client, RULES, proposer=FakeProposer())
    (summary,) = rig.fire()
    await rig.worker.drain()
    rid = summary["remediation_id"]
    database_url = f"sqlite:///{tmp_path / 'r.db'}"

    shown = CliRunner().invoke(cli, ["show", rid, "--database-url", database_url])
    assert shown.exit_code == 0, shown.output
    assert "proposed in git: branch" in shown.output
    assert f"remediator/{rid}" in shown.output and "c0ffeec0ffee" in shown.output
    assert PR in shown.output and "state proposed" in shown.output

    settings = load_settings(rules=[str(tmp_path / "rules.yml")], database_url=database_url,
                             webhook_token=TOKEN, api_token=READ_TOKEN)
    with TestClient(create_app(settings, scheduler=False, clock=rig.clock,
                               actions=ActionRegistry({}))) as web:
        view = web.get(f"/api/v1/remediations/{rid}", headers=auth(READ_TOKEN)).json()
        assert view["state"] == "proposed" and view["proposal"]["pr_url"] == PR
        assert view["proposal"]["branch"] == f"remediator/{rid}"
        post_login(web, READ_TOKEN)
        page = web.get(f"/remediations/{rid}").text
        assert f'<a id="pull-request" href="{PR}"' in page
        assert f"<code>remediator/{rid}</code>" in page
        listing = web.get("/").text
        assert '<option value="proposed"' in listing or ">proposed<" in listing
