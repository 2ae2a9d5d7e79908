"""`kubernetes.rollout_undo` against kmock: ReplicaSets carrying revision annotations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient

from remediator.actions.kubernetes.actions import RolloutUndoAction
from remediator.evidence import revisions
from remediator.model.actions import ActionError, ActionRequest

from .conftest import NAMESPACE, NOW, Seeded, deployment, replicaset

UNDO = ActionRequest(type="kubernetes.rollout_undo", kind="deployment", namespace=NAMESPACE,
                     name="web", params={"max_age": 3600}, timeout=5)


def undo(client: ApiClient) -> RolloutUndoAction:
    return RolloutUndoAction(client, clock=lambda: NOW)


def stored(emulator: kmock.KubernetesEmulator) -> dict[str, Any]:
    obj = emulator.objects["apps/v1/deployments", NAMESPACE, "web"]
    return {"template": dict(obj["spec"]["template"]["spec"]["containers"][0]),
            "labels": dict(obj["spec"]["template"]["metadata"]["labels"]),
            "annotations": dict(obj["metadata"]["annotations"])}


async def test_rolls_back_to_the_previous_replicaset_template(
        kmock: kmock.KubernetesEmulator, seeded: Seeded, client: ApiClient) -> None:
    seeded.rollout(rolled_out=NOW - timedelta(minutes=1), previous=NOW - timedelta(days=2))

    result = await undo(client).run(UNDO)

    after = stored(kmock)
    assert after["template"] == {"name": "web", "image": "web:1"}
    assert after["labels"] == {"app": "web"}  # no pod-template-hash
    assert after["annotations"]["note"] == "revision 1"  # copied from the ReplicaSet
    assert after["annotations"][revisions.REVISION] == "2"  # the controller bumps it
    assert result.detail["from_revision"] == 2 and result.detail["to_revision"] == 1
    assert result.detail["to_replicaset"] == "web-a1"
    assert result.message == ("rolled back deployment apps-a/web from revision 2 to "
                              "revision 1 (web-a1)")
    [patch] = list(kmock["patch"])
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert patch.data["metadata"]["resourceVersion"] == "41"  # optimistic lock


async def test_goes_back_one_revision_not_to_the_oldest(
        kmock: kmock.KubernetesEmulator, seeded: Seeded, client: ApiClient) -> None:
    seeded.add("apps/v1/deployments", deployment(revision=5, image="web:5"))
    for number, image in ((3, "web:3"), (4, "web:4"), (5, "web:5")):
        seeded.add("apps/v1/replicasets", replicaset(f"web-r{number}", number,
                                                     NOW - timedelta(minutes=6 - number), image))
    seeded.add("apps/v1/replicasets", replicaset("api-r9", 9, NOW, "api:9", owner="api"))

    result = await undo(client).run(UNDO)

    assert result.detail["to_revision"] == 4
    assert stored(kmock)["template"]["image"] == "web:4"


async def test_refuses_without_a_previous_revision(
        kmock: kmock.KubernetesEmulator, seeded: Seeded, client: ApiClient) -> None:
    seeded.rollout(rolled_out=NOW - timedelta(minutes=1))

    with pytest.raises(ActionError, match="has no previous revision") as raised:
        await undo(client).run(UNDO)

    assert not raised.value.transient
    assert raised.value.detail["revisions"] == [2]
    assert len(kmock["patch"]) == 0


@pytest.mark.parametrize(("age", "acts"), [
    pytest.param(timedelta(minutes=59), True, id="younger-acts"),
    pytest.param(timedelta(minutes=60), False, id="exactly-max-age-refuses"),
    pytest.param(timedelta(days=3), False, id="old-refuses"),
])
async def test_acts_only_while_the_current_revision_is_younger_than_max_age(
        kmock: kmock.KubernetesEmulator, seeded: Seeded, client: ApiClient,
        age: timedelta, acts: bool) -> None:
    seeded.rollout(rolled_out=NOW - age, previous=NOW - timedelta(days=4))

    if acts:
        await undo(client).run(UNDO)
    else:
        with pytest.raises(ActionError, match="not younger than max_age 3600s"):
            await undo(client).run(UNDO)

    assert len(kmock["patch"]) == (1 if acts else 0)


async def test_a_missing_deployment_is_target_gone(
        kmock: kmock.KubernetesEmulator, client: ApiClient) -> None:
    from remediator.model.actions import TargetGone

    kmock.resources["apps/v1/deployments"] = kmock.ResourceInfo(kind="Deployment",
                                                                namespaced=True)
    with pytest.raises(TargetGone):
        await undo(client).run(UNDO)


def test_replacing_patch_nulls_what_the_old_template_lacks() -> None:
    current = {"metadata": {"labels": {"app": "web", "new": "x"},
                            "annotations": {"restartedAt": "t"}},
               "spec": {"containers": [{"name": "web", "image": "web:2"}]}}
    target = {"metadata": {"labels": {"app": "web"}},
              "spec": {"containers": [{"name": "web", "image": "web:1"}]}}
    assert revisions.replacing(current, target) == {
        "metadata": {"labels": {"app": "web", "new": None}, "annotations": None},
        "spec": {"containers": [{"name": "web", "image": "web:1"}]}}
