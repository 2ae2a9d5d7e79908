"""The drift report: CLI (table, --json), GET /api/v1/drift, the /drift page, the gauge."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kubernetes.client import ApiClient
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from remediator.actions.registry import ActionRegistry
from remediator.app.drift import DriftMetrics, refresh_drift
from remediator.app.settings import load_settings
from remediator.cli import app as cli
from remediator.web.app import create_app
from tests.cli.live import READ_TOKEN as LIVE_READ_TOKEN
from tests.cli.live import running
from tests.gitops_ownership.conftest import APPS, DEPLOYMENTS, NS, World, application, deployment
from tests.gitops_ownership.rig import FakeProposer, Rig, build_rig
from tests.gitops_ownership.selfheal import SelfHeal
from tests.web.conftest import READ_TOKEN, TOKEN, auth, post_login

TRACKING = {"argocd.argoproj.io/tracking-id": f"shop-web:apps/Deployment:{NS}/web"}
runner = CliRunner()


def rules(gitops: str) -> str:
    return f"""\
rules:
  - name: scale-web
    matchers: ['alertname="WebSaturated"']
    action: {{type: kubernetes.scale, namespace: "{{{{ labels.namespace }}}}",
              name: "{{{{ labels.deployment }}}}", step: 2, max: 10}}
    verify: {{after: 5m}}
    gitops: {gitops}
    limits: {{cooldown: 0s}}
"""


@pytest.fixture
def heal(world: World) -> SelfHeal:
    world.add(DEPLOYMENTS, deployment(annotations=TRACKING, replicas=3))
    world.add(APPS, application())
    heal = SelfHeal(world)
    heal.holds(DEPLOYMENTS, NS, "web", replicas=3)
    return heal


def drift_json(tmp_path: Path) -> dict[str, object]:
    result = runner.invoke(cli, ["drift", "--json", "--database-url",
                                 f"sqlite:///{tmp_path / 'r.db'}"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.output)
    return parsed


async def acted(tmp_path: Path, client: ApiClient, gitops: str = "act",
                proposer: FakeProposer | None = None) -> tuple[Rig, str]:
    rig = build_rig(tmp_path, client, rules(gitops), proposer=proposer)
    (summary,) = rig.fire()
    await rig.worker.drain()
    return rig, summary["remediation_id"]


async def test_act_is_drift_until_the_controller_reverts_it(
        tmp_path: Path, client: ApiClient, heal: SelfHeal) -> None:
    rig, rid = await acted(tmp_path, client)
    report = drift_json(tmp_path)
    assert report["open"] == 1
    (item,) = report["items"]  # type: ignore[misc]
    assert (item["remediation_id"], item["action"], item["target"], item["controller"],
            item["app"], item["self_heal"], item["pr_url"], item["reverted"]) == (
        rid, "kubernetes.scale", f"deployment/{NS}/web", "argocd", "argocd/shop-web", True,
        None, False)
    registry = CollectorRegistry()
    assert refresh_drift(rig.database, DriftMetrics.create(registry=registry), rig.clock()) == 1
    assert registry.get_sample_value("remediator_drift_objects") == 1
    heal.reconcile()
    rig.clock.advance(minutes=6)
    await rig.worker.drain()
    report = drift_json(tmp_path)
    assert report["open"] == 0 and report["items"][0]["reverted"]  # type: ignore[index]
    table = runner.invoke(cli, ["drift", "--database-url", f"sqlite:///{tmp_path / 'r.db'}"])
    assert rid[:8] in table.output and "reverted" in table.output


async def test_also_act_shows_its_pull_request(tmp_path: Path, client: ApiClient,
                                               heal: SelfHeal) -> None:
    await acted(tmp_path, client, "{mode: propose, also_act: true}", FakeProposer())
    (item,) = drift_json(tmp_path)["items"]  # type: ignore[misc]
    assert item["pr_url"] == "https://git.example.com/platform/apps/pull/7"


@pytest.mark.parametrize("gitops", ["refuse", "propose"])
async def test_no_change_on_the_cluster_is_no_drift(tmp_path: Path, client: ApiClient,
                                                    heal: SelfHeal, gitops: str) -> None:
    await acted(tmp_path, client, gitops, FakeProposer())
    assert drift_json(tmp_path) == {"items": [], "open": 0}
    table = runner.invoke(cli, ["drift", "--database-url", f"sqlite:///{tmp_path / 'r.db'}"])
    assert "no drift" in table.output


async def test_api_and_page(tmp_path: Path, client: ApiClient, heal: SelfHeal) -> None:
    rig, rid = await acted(tmp_path, client)
    settings = load_settings(rules=[str(tmp_path / "rules.yml")],
                             database_url=f"sqlite:///{tmp_path / 'r.db'}",
                             webhook_token=TOKEN, api_token=READ_TOKEN)
    rig.clock.advance(timedelta(hours=2))
    app = create_app(settings, scheduler=False, clock=rig.clock, actions=ActionRegistry({}))
    with TestClient(app) as web:
        answer = web.get("/api/v1/drift", headers=auth(READ_TOKEN))
        assert answer.status_code == 200
        (item,) = answer.json()["items"]
        assert item["remediation_id"] == rid and item["age_seconds"] == 7200
        assert web.get("/api/v1/drift").status_code == 401
        post_login(web, READ_TOKEN)
        page = web.get("/drift")
        assert page.status_code == 200
        assert f'href="/remediations/{rid}"' in page.text and "2h 0m" in page.text
        assert '<a href="/drift" class="here">drift</a>' in page.text


async def test_cli_asks_the_running_service(tmp_path: Path, client: ApiClient,
                                            heal: SelfHeal) -> None:
    _, rid = await acted(tmp_path, client)
    with running(f"sqlite:///{tmp_path / 'r.db'}") as service:
        result = runner.invoke(cli, ["drift", "--json"], env={
            "REMEDIATOR_SERVER": service.url, "REMEDIATOR_TOKEN": LIVE_READ_TOKEN})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["open"] == 1 and report["items"][0]["remediation_id"] == rid
