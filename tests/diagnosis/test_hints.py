"""Each hint over recorded evidence (snapshots taken from kmock) and firing alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from remediator.diagnosis import HINT_NAMES, Context, FiringAlert, diagnose
from remediator.diagnosis import hints as h

RECORDED = Path(__file__).parent / "recorded"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)  # the recordings' clock
LABELS = {"alertname": "KubePodCrashLooping", "namespace": "apps-a", "pod": "web-b2-x1",
          "deployment": "web", "service": "web"}


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return data


OOM = recorded("oom_after_rollout")  # revision 2 rolled out 5m before NOW, OOMKilled/137
PULL = recorded("image_pull_on_sick_node")  # old rollout, ImagePullBackOff, node n1 NotReady


def ctx(evidence: dict[str, Any], *, starts_at: datetime = NOW,
        firing: tuple[FiringAlert, ...] = (), labels: dict[str, str] | None = None,
        window: timedelta = timedelta(minutes=30)) -> Context:
    return Context(labels=labels or LABELS, starts_at=starts_at, fingerprint="me",
                   evidence=evidence, firing=firing, rollout_window=window)


def names(context: Context) -> list[str]:
    return [hint.name for hint in diagnose(context)]


@pytest.mark.parametrize(("starts_at", "window", "expected"), [
    pytest.param(NOW, timedelta(minutes=30), True, id="5m-after-rollout"),
    pytest.param(NOW, timedelta(minutes=5), True, id="at-the-window-edge"),
    pytest.param(NOW, timedelta(minutes=4), False, id="window-too-short"),
    pytest.param(NOW - timedelta(minutes=10), timedelta(minutes=30), False,
                 id="alert-began-before-the-rollout"),
    pytest.param(NOW + timedelta(hours=2), timedelta(minutes=30), False, id="long-after"),
])
def test_recent_rollout(starts_at: datetime, window: timedelta, expected: bool) -> None:
    hint = h.recent_rollout(ctx(OOM, starts_at=starts_at, window=window))
    assert (hint is not None) is expected
    if hint is not None:
        assert hint.explanation == ("deployment web rolled out revision 2 5m before the "
                                    "alert started")
        assert hint.facts["previous_revision"] == 1
        assert hint.facts["rolled_out_at"] == "2024-05-06T07:03:09+00:00"


def test_recent_rollout_needs_rollout_evidence() -> None:
    assert h.recent_rollout(ctx({})) is None
    assert h.recent_rollout(ctx(PULL)) is None  # rolled out ten days ago


def test_oom_killed() -> None:
    hint = h.oom_killed(ctx(OOM))
    assert hint is not None
    assert hint.explanation.startswith("container web was OOMKilled (exit code 137, 5 restarts)")
    assert hint.facts["containers"][0] == {"name": "web", "reason": "OOMKilled",
                                           "exit_code": 137, "restarts": 5,
                                           "finished_at": "2024-05-06T07:08:09Z"}
    assert h.oom_killed(ctx(PULL)) is None


def test_exit_137_without_oom_reason_is_not_oom() -> None:
    other = json.loads(json.dumps(OOM))
    other["containers"][0]["lastTermination"]["reason"] = "Error"
    assert h.oom_killed(ctx(other)) is None


def test_node_not_ready_from_the_node_conditions() -> None:
    hint = h.node_not_ready(ctx(PULL))
    assert hint is not None
    assert hint.explanation == "node n1 is Ready=False"
    assert hint.facts["ready"]["status"] == "False"
    assert h.node_not_ready(ctx(OOM)) is None  # n1 is Ready there


def test_node_not_ready_from_a_node_alert_on_the_pods_node() -> None:
    firing = (FiringAlert("KubeNodeNotReady", {"alertname": "KubeNodeNotReady", "node": "n1"}),
              FiringAlert("KubeNodeNotReady", {"alertname": "KubeNodeNotReady", "node": "n2"}))
    hint = h.node_not_ready(ctx(OOM, firing=firing))
    assert hint is not None
    assert hint.facts["alerts"] == ["KubeNodeNotReady{node=n1}"]


def test_co_firing_names_other_alerts_on_the_node_or_namespace() -> None:
    firing = (
        FiringAlert("KubePodCrashLooping", LABELS, fingerprint="me"),  # this alert itself
        FiringAlert("HighErrorRate", {"namespace": "apps-a", "service": "web"}),
        FiringAlert("NodeDiskPressure", {"node": "n1"}),
        FiringAlert("Elsewhere", {"namespace": "apps-b", "node": "n9"}))
    hint = h.co_firing(ctx(OOM, firing=firing))
    assert hint is not None
    assert hint.facts["alerts"] == ["HighErrorRate{namespace=apps-a, service=web}",
                                    "NodeDiskPressure{node=n1}"]
    assert hint.explanation.startswith("2 other alert(s) firing on node n1 or namespace apps-a")
    assert h.co_firing(ctx(OOM, firing=firing[:1])) is None


def test_dependency_down_follows_the_configured_label() -> None:
    labels = {**LABELS, "depends_on": "db, cache"}
    firing = (FiringAlert("PostgresDown", {"service": "db", "namespace": "data"}),
              FiringAlert("Unrelated", {"service": "mail"}))
    hint = h.dependency_down(ctx(OOM, labels=labels, firing=firing))
    assert hint is not None
    assert hint.facts == {"depends_on": ["db", "cache"], "label": "depends_on",
                          "alerts": ["PostgresDown{namespace=data, service=db}"]}
    assert h.dependency_down(ctx(OOM, firing=firing)) is None  # no depends_on label
    custom = Context(labels={**LABELS, "needs": "db"}, starts_at=NOW, evidence=OOM,
                     firing=firing, dependency_label="needs")
    assert h.dependency_down(custom) is not None


def test_image_pull() -> None:
    hint = h.image_pull(ctx(PULL))
    assert hint is not None
    assert hint.explanation == ("the image could not be pulled: container web (web:2) is "
                                "ImagePullBackOff")
    assert h.image_pull(ctx(OOM)) is None


def test_diagnose_runs_every_hint_in_order() -> None:
    assert names(ctx(OOM)) == ["recent_rollout", "oom_killed"]
    assert names(ctx(PULL)) == ["node_not_ready", "image_pull"]
    assert names(ctx({})) == []
    assert [f.__name__ for f in h.HINTS] == list(HINT_NAMES)


def test_every_hint_is_json_serialisable() -> None:
    firing = (FiringAlert("X", {"namespace": "apps-a"}),)
    for hint in diagnose(ctx(OOM, firing=firing)) + diagnose(ctx(PULL)):
        json.dumps(hint.to_json())
