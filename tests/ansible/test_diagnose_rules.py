"""rules/node-repairs.yml as a ladder: diagnosis (playbook:diagnose/node.yml/<node>), then the repair.

The rule-test format sees only the first rung; this walks the escalation
through the real engine and in-memory guard state, as the worker does when
the diagnosis is verified and the alert still fires.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from remediator.decide.engine import decide, decide_step
from remediator.decide.state import MemoryState
from remediator.model.alerts import Alert
from remediator.model.outcomes import Outcome
from remediator.model.policy import Policy
from remediator.rules.model import load_rules
from tests.ansible.conftest import REPO

RULES = load_rules([REPO / "rules" / "node-repairs.yml"])
START = datetime(2026, 1, 1, tzinfo=UTC)
REPAIRS = {"restart-k3s-service": ("K3sServiceDown", "repair/restart_k3s.yml"),
           "free-node-disk": ("NodeFilesystemAlmostFull", "repair/free_disk.yml"),
           "restart-container-runtime": ("ContainerRuntimeDown",
                                         "repair/restart_container_runtime.yml")}


def alert(name: str, node: str = "worker-1") -> Alert:
    return Alert.model_validate({"status": "firing", "labels": {"alertname": name, "node": node},
                                 "annotations": {}, "startsAt": START.isoformat()})


@pytest.mark.parametrize("rule_name", sorted(REPAIRS))
def test_the_diagnosis_does_not_hold_back_the_repair(rule_name: str) -> None:
    alertname, repair_play = REPAIRS[rule_name]
    state, policy = MemoryState(), Policy()
    rule = RULES.by_name(rule_name)
    assert rule is not None

    [first] = decide(alert(alertname), rules=RULES, policy=policy, state=state, now=START)
    assert first.outcome is Outcome.EXECUTED
    assert first.request is not None and first.request.params["playbook"] == "diagnose/node.yml"

    later = START + timedelta(minutes=3)  # verify.after: still firing -> the next rung
    second = decide_step(alert(alertname), rule, 1, policy=policy, state=state, now=later,
                         parent_id="r1")
    assert second.outcome is Outcome.EXECUTED, second.reason
    assert second.request is not None
    assert (second.request.target, second.request.params["playbook"]) == (
        f"playbook:{repair_play}/worker-1", repair_play)
    assert second.request.params["check"] is False
