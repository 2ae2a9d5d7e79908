"""A retry acts on the world its first attempt saw, or not at all (issue 20, item 2).

Through the worker, the real Kubernetes actions and the official client,
against kmock's emulator with the API server's optimistic concurrency
(`OptimisticEmulator`): the first write meets a 409 (a controller's status
update landed between the read and the patch), the worker queues a retry,
and before it runs a person ships revision 3, rescales the Deployment or
retunes the HPA. The retry must refuse (`failed`, "target changed since the
decision", naming what moved) and leave their change alone, also when the
retry is run by a restarted process. When nothing that matters moved, the
retry still succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient, Configuration

from remediator.actions.kubernetes.actions import close_api_client, kubernetes_actions
from remediator.actions.kubernetes.client import api_client
from remediator.actions.registry import ActionRegistry
from remediator.app.metrics import Metrics
from remediator.execute.worker import Worker
from remediator.intake.intake import Intake
from remediator.model.alerts import Alert
from remediator.model.clock import FakeClock
from remediator.model.policy import Policy
from remediator.rules.book import RuleBook
from remediator.store import Database
from remediator.store.audit import log as audit
from remediator.store.audit.log import AuditQuery
from remediator.store.intake_store import IntakeStore
from remediator.store.service import Store
from tests.actions.optimistic import OptimisticEmulator
from tests.support.payloads import alert

pytestmark = pytest.mark.kmock(cls=OptimisticEmulator)

NAMESPACE = "apps-a"
REVISION = "deployment.kubernetes.io/revision"
DEPLOYMENTS, REPLICASETS = "apps/v1/deployments", "apps/v1/replicasets"
HPAS = "autoscaling/v2/horizontalpodautoscalers"

RULES = """\
rules:
  - name: undo-bad-rollout
    matchers: ['alertname="BadRollout"']
    action: {type: kubernetes.rollout_undo, namespace: "{{ labels.namespace }}", name: "{{ labels.deployment }}", max_age: 1h, timeout: 5s}
    limits: {cooldown: 0s}
  - name: scale-out
    matchers: ['alertname="TooBusy"']
    action: {type: kubernetes.scale, kind: deployment, namespace: "{{ labels.namespace }}", name: "{{ labels.deployment }}", step: 1, min: 1, max: 10, timeout: 5s}
    limits: {cooldown: 0s}
  - name: raise-hpa
    matchers: ['alertname="HpaMaxedOut"']
    action: {type: kubernetes.hpa_patch, namespace: "{{ labels.namespace }}", name: "{{ labels.horizontalpodautoscaler }}", fields: max, step: 2, ceiling: 20, timeout: 5s}
    limits: {cooldown: 0s}
"""


def template(image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": image}]}}


def deployment(revision: int, image: str, replicas: int = 2) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NAMESPACE, "uid": "uid-web",
                         "resourceVersion": "41", "annotations": {REVISION: str(revision)}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": template(image)},
            "status": {"observedGeneration": 1, "replicas": replicas}}


def replicaset(revision: int, image: str, clock: FakeClock, age: timedelta) -> dict[str, Any]:
    name = f"web-r{revision}"
    labelled = template(image)
    labelled["metadata"]["labels"]["pod-template-hash"] = f"r{revision}"
    created = (clock.now - age).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NAMESPACE, "creationTimestamp": created,
                         "annotations": {REVISION: str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": "web", "uid": "uid-web",
                                              "controller": True}]},
            "spec": {"replicas": 2, "template": labelled}}


def hpa(min_replicas: int, max_replicas: int) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": NAMESPACE, "resourceVersion": "31"},
            "spec": {"minReplicas": min_replicas, "maxReplicas": max_replicas,
                     "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                        "name": "web"}}}


@dataclass
class Rig:
    emulator: OptimisticEmulator
    database: Database
    intake: Intake
    registry: ActionRegistry
    metrics: Metrics
    clock: FakeClock

    def worker(self) -> Worker:
        """A worker, as a (re)started process builds it: only the database is shared."""
        return Worker(store=Store(self.database), policy=self.intake.policy,
                      rules=self.intake.rulebook.current.by_name, actions=self.registry,
                      verifier=_NoVerifier(), metrics=self.metrics.worker, clock=self.clock,
                      retries=2, timeout_grace=1.0)

    def add(self, resource: str, obj: dict[str, Any]) -> None:
        self.emulator.objects[resource, NAMESPACE, obj["metadata"]["name"]] = obj

    def change(self, resource: str, change: dict[str, Any]) -> None:
        """Another client's write (a new resourceVersion, as the API server gives it)."""
        self.emulator.touch((resource, NAMESPACE, "web"), change)

    def get(self, resource: str) -> dict[str, Any]:
        stored = self.emulator.objects[resource, NAMESPACE, "web"]
        return {"spec": dict(stored["spec"]), "metadata": dict(stored["metadata"])}

    def fire(self, alertname: str, **labels: str) -> None:
        [summary] = self.intake.receive(
            [Alert.model_validate(alert(alertname, namespace=NAMESPACE, **labels))],
            group_key="g")
        assert summary["outcome"] == "executed"

    def history(self) -> list[tuple[str, str]]:
        with self.database.reading() as connection:
            items, _ = audit.query(connection, AuditQuery(limit=100))
        return [(item["outcome"], item["reason"]) for item in reversed(items)]


class _NoVerifier:
    async def check(self, labels: object, expr: str | None) -> tuple[Any, str]:
        raise AssertionError("no rule here verifies")


@pytest.fixture
def client(kmock: OptimisticEmulator) -> Iterator[ApiClient]:
    built = api_client(Configuration(host=str(kmock.url).rstrip("/")))
    yield built
    close_api_client(built)


@pytest.fixture
def rig(tmp_path: Path, kmock: OptimisticEmulator, client: ApiClient, clock: FakeClock,
        database: Database) -> Rig:
    """On SQLite and on a real PostgreSQL: the premise lives in the job's JSON payload."""
    (tmp_path / "rules.yml").write_text(RULES)
    metrics = Metrics.create()
    intake = Intake(store=IntakeStore(database), policy=Policy(), metrics=metrics.intake, clock=clock,
                    rulebook=RuleBook([str(tmp_path / "rules.yml")], metrics=metrics.rules))
    registry = ActionRegistry(kubernetes_actions(client, clock=clock))
    return Rig(kmock, database, intake, registry, metrics, clock)


@dataclass(frozen=True)
class Case:
    """One read-modify-write action: its scene, a person's change, and what each leaves."""

    seed: Callable[[Rig], None]
    fire: Callable[[Rig], None]
    touched: str
    """The resource the action writes (and a controller's status update touches)."""
    status: dict[str, Any]
    """The controller's status update."""
    person: Callable[[Rig], None]
    moved: str
    """What the refusal names."""
    theirs: Callable[[Rig], object]
    """The state read back: the person's change kept, or the action's result."""
    kept: object
    acted: object


def _rollout(rig: Rig) -> None:
    rig.add(DEPLOYMENTS, deployment(2, "web:2"))
    rig.add(REPLICASETS, replicaset(1, "web:1", rig.clock, timedelta(days=2)))
    rig.add(REPLICASETS, replicaset(2, "web:2", rig.clock, timedelta(minutes=5)))


def _ship_revision_3(rig: Rig) -> None:
    rig.change(DEPLOYMENTS, {"metadata": {"annotations": {REVISION: "3"}},
                             "spec": {"template": template("web:3")}})
    rig.add(REPLICASETS, replicaset(3, "web:3", rig.clock, timedelta(seconds=1)))


def _image(rig: Rig) -> tuple[str, str]:
    obj = rig.get(DEPLOYMENTS)
    return obj["metadata"]["annotations"][REVISION], obj["spec"]["template"]["spec"][
        "containers"][0]["image"]


def _bounds(rig: Rig) -> tuple[int, int]:
    spec = rig.get(HPAS)["spec"]
    return spec["minReplicas"], spec["maxReplicas"]


CASES = [
    pytest.param(Case(
        seed=_rollout, fire=lambda rig: rig.fire("BadRollout", deployment="web"),
        touched=DEPLOYMENTS, status={"observedGeneration": 2}, person=_ship_revision_3, moved="revision 2 -> 3",
        theirs=_image, kept=("3", "web:3"), acted=("2", "web:1")), id="rollout_undo"),
    pytest.param(Case(
        seed=lambda rig: rig.add(DEPLOYMENTS, deployment(2, "web:2", replicas=2)),
        fire=lambda rig: rig.fire("TooBusy", deployment="web"),
        touched=DEPLOYMENTS, status={"observedGeneration": 2},
        person=lambda rig: rig.change(DEPLOYMENTS, {"spec": {"replicas": 6}}),
        moved="replicas 2 -> 6", theirs=lambda rig: rig.get(DEPLOYMENTS)["spec"]["replicas"],
        kept=6, acted=3), id="scale"),
    pytest.param(Case(
        seed=lambda rig: rig.add(HPAS, hpa(2, 6)),
        fire=lambda rig: rig.fire("HpaMaxedOut", horizontalpodautoscaler="web"),
        touched=HPAS, status={"currentReplicas": 6, "desiredReplicas": 6},
        person=lambda rig: rig.change(HPAS, {"spec": {"maxReplicas": 12}}),
        moved="max_replicas 6 -> 12", theirs=_bounds, kept=(2, 12), acted=(2, 8)),
        id="hpa_patch"),
]


async def _first_attempt_meets_a_conflict(rig: Rig, case: Case) -> None:
    """A controller's status update lands between the action's read and its write: 409."""
    case.seed(rig)
    rig.emulator.between.append(lambda: rig.change(case.touched, {"status": case.status}))
    case.fire(rig)
    await rig.worker().drain()
    [(outcome, reason)] = rig.history()[1:]
    assert outcome == "failed" and "HTTP 409" in reason and "retrying in 2s" in reason


@pytest.mark.parametrize("restarted", [
    pytest.param(False, id="same-process"), pytest.param(True, id="after-a-restart")])
@pytest.mark.parametrize("case", CASES)
async def test_a_retry_refuses_when_a_person_changed_the_target(
        rig: Rig, case: Case, restarted: bool) -> None:
    worker = rig.worker()
    await _first_attempt_meets_a_conflict(rig, case)
    case.person(rig)  # ships a fix / rescales / retunes before the retry

    rig.clock.advance(seconds=2)
    await (rig.worker() if restarted else worker).drain()

    outcome, reason = rig.history()[-1]
    assert outcome == "failed"
    assert f"refused: target changed since the decision: {case.moved}" in reason
    assert case.theirs(rig) == case.kept  # their change stands
    assert len(rig.history()) == 3  # executed, failed (retrying), failed: not retried again


@pytest.mark.parametrize("case", CASES)
async def test_a_retry_acts_when_only_the_status_moved(rig: Rig, case: Case) -> None:
    await _first_attempt_meets_a_conflict(rig, case)

    rig.clock.advance(seconds=2)
    await rig.worker().drain()

    assert [outcome for outcome, _ in rig.history()] == ["executed", "failed", "succeeded"]
    assert case.theirs(rig) == case.acted
