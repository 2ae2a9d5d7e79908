"""A Deployment's history is read from the ReplicaSets its selector matches, with a limit.

Before, `rollout_undo` and the evidence snapshot listed every ReplicaSet of the
namespace: thousands in a busy one, read in full before every rollback and
every snapshot. kmock's emulator ignores selectors and limits (it answers
with everything), so these tests assert the query the client sent, and that
the owner check still keeps only the Deployment's own ReplicaSets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient

from remediator.actions.kubernetes.actions import RolloutUndoAction
from remediator.actions.kubernetes.snapshot import SnapshotAction
from remediator.evidence import revisions
from remediator.evidence.limits import Limits, snapshot_request
from remediator.model.actions import ActionError, ActionRequest

from .conftest import NAMESPACE, NOW, Seeded, replicaset

UNDO = ActionRequest(type="kubernetes.rollout_undo", kind="deployment", namespace=NAMESPACE,
                     name="web", params={"max_age": 3600}, timeout=5)
REPLICASETS = "apps/v1/replicasets"
QUERY = {"labelSelector": "app=web", "limit": str(revisions.REPLICASET_LIMIT)}


def unrelated(index: int) -> dict[str, Any]:
    rs = replicaset(f"batch{index}-x{index}", 1, NOW, "batch:1", owner=f"batch{index}")
    rs["spec"]["template"]["metadata"]["labels"]["app"] = f"batch{index}"
    return rs


@pytest.fixture
def crowded(seeded: Seeded) -> Seeded:
    """web at revision 2 (revision 1 before it) among 300 other workloads' ReplicaSets."""
    seeded.rollout(rolled_out=NOW - timedelta(minutes=5), previous=NOW - timedelta(days=3))
    for index in range(300):
        seeded.add(REPLICASETS, unrelated(index))
    return seeded


def listings(emulator: kmock.KubernetesEmulator) -> list[dict[str, str]]:
    return [dict(request.params) for request in emulator["list", kmock.resource(REPLICASETS)]]


async def test_rollout_undo_asks_only_for_the_deployments_replicasets(
        kmock: kmock.KubernetesEmulator, crowded: Seeded, client: ApiClient) -> None:
    result = await RolloutUndoAction(client, clock=lambda: NOW).run(UNDO)

    assert listings(kmock) == [QUERY]
    assert result.detail["revisions"] == [1, 2]  # the other 300 are not its own
    assert result.detail["to_replicaset"] == "web-a1"


async def test_the_evidence_snapshot_asks_only_for_the_deployments_replicasets(
        kmock: kmock.KubernetesEmulator, crowded: Seeded, client: ApiClient) -> None:
    request = ActionRequest(type="kubernetes.rollout_undo", kind="deployment",
                            namespace=NAMESPACE, name="web")
    doc = (await SnapshotAction(client).run(snapshot_request(request, Limits()))).detail

    assert listings(kmock) == [QUERY]
    assert doc["rollout"]["revision"] == 2 and doc["rollout"]["previousRevision"] == 1


def _more_to_come(emulator: kmock.KubernetesEmulator) -> None:
    """The API server stopped at the limit: a `continue` token, more ReplicaSets behind it."""
    items = [replicaset("web-b2", 2, NOW - timedelta(minutes=5), "web:2")]
    emulator["list", kmock.resource(REPLICASETS)] << {
        "apiVersion": "apps/v1", "kind": "ReplicaSetList",
        "metadata": {"continue": "more", "remainingItemCount": 150}, "items": items}


async def test_rollout_undo_refuses_a_history_cut_at_the_limit(
        kmock: kmock.KubernetesEmulator, crowded: Seeded, client: ApiClient) -> None:
    _more_to_come(kmock)

    with pytest.raises(ActionError, match="more than 100 ReplicaSets match 'app=web'") as raised:
        await RolloutUndoAction(client, clock=lambda: NOW).run(UNDO)

    assert not raised.value.transient
    assert len(kmock["patch"]) == 0


async def test_the_snapshot_says_the_history_was_cut_instead_of_showing_part_of_it(
        kmock: kmock.KubernetesEmulator, crowded: Seeded, client: ApiClient) -> None:
    _more_to_come(kmock)
    request = ActionRequest(type="kubernetes.rollout_undo", kind="deployment",
                            namespace=NAMESPACE, name="web")

    doc = (await SnapshotAction(client).run(snapshot_request(request, Limits()))).detail

    assert "rollout" not in doc
    [error] = [e for e in doc["errors"] if e["section"] == "rollout"]
    assert "more than 100 ReplicaSets match 'app=web'" in error["error"]


@pytest.mark.parametrize(("selector", "expected"), [
    pytest.param({"matchLabels": {"app": "web", "tier": "front"}}, "app=web,tier=front",
                 id="labels"),
    pytest.param({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "track", "operator": "In", "values": ["stable", "canary"]},
        {"key": "env", "operator": "NotIn", "values": ["dev"]},
        {"key": "team", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"}]},
        "app=web,track in (canary,stable),env notin (dev),team,!legacy", id="expressions"),
    pytest.param({}, None, id="none"),
])
def test_label_selector(selector: dict[str, Any], expected: str | None) -> None:
    assert revisions.label_selector({"spec": {"selector": selector}}) == expected
