"""suspend_while_proposed with a forge: the Kustomization is resumed as soon as the pull
request is merged or declined (app/prwatch.py), once; the timeout then has nothing to do."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from kubernetes.client import ApiClient

from remediator.app.prwatch import PullRequestWatch
from remediator.gitops.settings import GitopsSettings
from tests.gitops_ownership.conftest import (
    DEPLOYMENTS,
    GITREPOS,
    KUSTOMIZATIONS,
    World,
    deployment,
    gitrepository,
    kustomization,
)
from tests.gitops_ownership.rig import FakeProposer, Rig, build_rig
from tests.gitops_ownership.test_suspend import FLUX, RULES, suspended

PULL = "https://git.example.com/api/v3/repos/platform/apps/pulls/7"
"""FakeProposer's pull request https://git.example.com/platform/apps/pull/7, via the API."""
RESUMED = "follow-up kubernetes.gitops_suspend: resumed Flux Kustomization flux-system/apps"


@pytest.fixture
def forge() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def answer(forge: respx.MockRouter, **body: Any) -> respx.Route:
    return forge.get(PULL).mock(return_value=httpx.Response(200, json=body))


def settings(tmp_path: Path, forge: str = "github") -> GitopsSettings:
    (tmp_path / "token").write_text("tok-secret\n")
    return GitopsSettings(forge=forge,  # type: ignore[arg-type]
                          forge_url="https://git.example.com/api/v3",
                          token_file=tmp_path / "token")


async def suspended_rig(tmp_path: Path, client: ApiClient, world: World) -> Rig:
    world.add(DEPLOYMENTS, deployment(labels=FLUX, replicas=3))
    world.add(KUSTOMIZATIONS, kustomization())
    world.add(GITREPOS, gitrepository())
    rig = build_rig(tmp_path, client, RULES, proposer=FakeProposer())
    rig.fire()
    await rig.worker.drain()
    assert suspended(world)
    return rig


def resumes(rig: Rig) -> list[dict[str, Any]]:
    return [e for e in rig.audit() if e["action"] == "kubernetes.gitops_suspend"]


async def test_merged_resumes_now_once_and_the_timeout_does_nothing(
        tmp_path: Path, client: ApiClient, world: World, forge: respx.MockRouter) -> None:
    rig = await suspended_rig(tmp_path, client, world)
    watch = PullRequestWatch(rig.database, settings(tmp_path), clock=rig.clock,
                             http=httpx.Client())
    route = answer(forge, state="open", merged=False)
    rig.clock.advance(minutes=1)
    assert await watch.run() == 0
    await rig.worker.drain()
    assert suspended(world) and resumes(rig) == []
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok-secret"

    answer(forge, state="closed", merged=True, merged_at="2026-12-07T22:03:00Z")
    rig.clock.advance(minutes=1)
    assert await watch.run() == 1
    assert await watch.run() == 0  # nothing left to ask about
    await rig.worker.drain()
    assert not suspended(world)
    [resumed] = resumes(rig)
    assert (resumed["outcome"], resumed["reason"]) == (
        "succeeded", f"{RESUMED} (pull request merged)")
    assert resumed["remediation_id"] == rig.audit()[0]["remediation_id"]

    rig.clock.advance(hours=3)  # past GITOPS_SUSPEND_TIMEOUT
    await rig.worker.drain()
    assert len(resumes(rig)) == 1 and not suspended(world)


async def test_declined_leaves_a_kustomization_its_owner_resumed_alone(
        tmp_path: Path, client: ApiClient, world: World, forge: respx.MockRouter) -> None:
    rig = await suspended_rig(tmp_path, client, world)
    watch = PullRequestWatch(rig.database, settings(tmp_path), clock=rig.clock,
                             http=httpx.Client())
    world.add(KUSTOMIZATIONS, kustomization())  # a human resumed it meanwhile
    answer(forge, state="closed", merged=False, merged_at=None)
    rig.clock.advance(minutes=5)
    assert await watch.run() == 1
    await rig.worker.drain()
    [resumed] = resumes(rig)
    assert resumed["reason"] == (
        "follow-up kubernetes.gitops_suspend: Flux Kustomization flux-system/apps is not "
        "suspended (resumed already); left alone (pull request declined)")
    assert resumed["detail"]["changed"] is False


async def test_forge_errors_are_logged_once_and_the_timeout_still_resumes(
        tmp_path: Path, client: ApiClient, world: World, forge: respx.MockRouter,
        caplog: pytest.LogCaptureFixture) -> None:
    rig = await suspended_rig(tmp_path, client, world)
    watch = PullRequestWatch(rig.database, settings(tmp_path), clock=rig.clock,
                             http=httpx.Client())
    caplog.set_level(logging.WARNING, logger="remediator.app.prwatch")
    forge.get(PULL).mock(return_value=httpx.Response(401, json={"message": "Bad credentials"}))
    for _ in range(3):
        rig.clock.advance(minutes=1)
        assert await watch.run() == 0
    forge.get(PULL).mock(side_effect=httpx.ConnectTimeout("slow"))
    for _ in range(2):
        rig.clock.advance(minutes=1)
        assert await watch.run() == 0
    forge.get(PULL).mock(return_value=httpx.Response(404, json={"message": "Not Found"}))
    assert await watch.run() == 0
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3, warned
    assert "refused the token (401)" in warned[0] and "timed out" in warned[1]
    assert "answered 404" in warned[2]
    assert not any("tok-secret" in line for line in warned)
    await rig.worker.drain()
    assert suspended(world)

    rig.clock.advance(hours=2)
    await rig.worker.drain()
    [resumed] = resumes(rig)
    assert resumed["reason"] == RESUMED and not suspended(world)


async def test_without_a_forge_only_the_timeout_applies(
        tmp_path: Path, client: ApiClient, world: World, forge: respx.MockRouter) -> None:
    rig = await suspended_rig(tmp_path, client, world)
    watch = PullRequestWatch(rig.database, settings(tmp_path, forge="none"), clock=rig.clock,
                             http=httpx.Client())
    assert await watch.run() == 0
    assert forge.calls.call_count == 0
    rig.clock.advance(hours=2, minutes=1)
    await rig.worker.drain()
    assert [e["reason"] for e in resumes(rig)] == [RESUMED]
