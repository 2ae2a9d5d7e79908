"""The `ansible.playbook` action: request checks, outcome mapping, real runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remediator.actions.ansible.action import AnsiblePlaybookAction
from remediator.model.actions import ActionError, ActionRequest, TargetGone
from remediator.rules.model import load_rules
from tests.ansible.conftest import PLAYBOOKS, PROJECT, REPO

Inventory = Callable[..., dict[str, Any]]


def playbook_request(playbook: str, *, limit: str = "all", extravars: Any = None,
                     check: bool = False, tags: Any = (), timeout: float = 60) -> ActionRequest:
    params = {"playbook": playbook, "limit": limit, "extravars": extravars or {},
              "tags": list(tags), "check": check}
    return ActionRequest(type="ansible.playbook", kind="playbook", name=limit, params=params,
                         timeout=timeout)


@pytest.mark.parametrize(("change", "message"), [
    pytest.param({"playbook": "../etc/passwd.yml"}, "inside the playbook directory",
                 id="parent-dir"),
    pytest.param({"playbook": "/etc/ansible/site.yml"}, "inside the playbook directory",
                 id="absolute"),
    pytest.param({"playbook": "sub/../../x.yml"}, "inside the playbook directory", id="escape"),
    pytest.param({"playbook": "ok.txt"}, "inside the playbook directory", id="not-yaml"),
    pytest.param({"playbook": "missing.yml"}, "not found", id="missing"),
    pytest.param({"playbook": None}, "no playbook", id="no-playbook"),
    pytest.param({"limit": "x'; reboot; '"}, "not a valid hostname", id="bad-limit"),
    pytest.param({"extravars": {"ansible_connection": "ssh"}}, "reserved", id="reserved-var"),
    pytest.param({"extravars": {"hostvars": "x"}}, "reserved", id="reserved-magic-var"),
    pytest.param({"extravars": {"bad key": "x"}}, "not a valid identifier", id="bad-key"),
    pytest.param({"extravars": {"n": 3}}, "must be a string", id="non-string"),
    pytest.param({"tags": ["a;b"]}, "not a valid identifier", id="bad-tag"),
])
async def test_invalid_requests_are_refused_before_running(change: dict[str, Any],
                                                           message: str) -> None:
    action = AnsiblePlaybookAction(PROJECT)
    params = {"playbook": "ok.yml", "limit": "all", "extravars": {}, "tags": [],
              "check": False, **change}
    request = ActionRequest(type="ansible.playbook", kind="playbook", name="all", params=params)

    with pytest.raises(ActionError, match=message) as raised:
        await action.run(request)
    assert not raised.value.transient


async def test_other_action_types_are_refused() -> None:
    request = ActionRequest(type="kubernetes.delete_pod", kind="pod", name="p", namespace="n")
    with pytest.raises(ActionError, match="cannot run"):
        await AnsiblePlaybookAction(PROJECT).run(request)


@pytest.mark.ansible
async def test_success_keeps_recap_rc_duration_and_tail(tmp_path: Path,
                                                        inventory: Inventory) -> None:
    action = AnsiblePlaybookAction(PROJECT, inventory=inventory("node-a", out_dir=str(tmp_path)),
                                   private_data_root=tmp_path / "runs")
    result = await action.run(playbook_request("ok.yml", limit="node-a"))

    assert result.message == "ok.yml succeeded on node-a: 1 changed"
    assert result.detail["rc"] == 0
    assert result.detail["recap"]["node-a"]["changed"] == 1
    assert result.detail["duration"] > 0
    assert result.detail["tail"]
    assert result.detail["stats"] == {"answer": 42}
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.mark.ansible
async def test_failed_host_raises_a_permanent_error_with_the_recap(
        inventory: Inventory) -> None:
    action = AnsiblePlaybookAction(PROJECT, inventory=inventory("node-a"))
    with pytest.raises(ActionError) as raised:
        await action.run(playbook_request("fail.yml"))

    error = raised.value
    assert not error.transient
    assert error.message == "fail.yml: host node-a failed at task 'Fail on purpose'"
    assert error.detail["recap"]["node-a"]["failed"] == 1
    assert error.detail["rc"] == 2


@pytest.mark.ansible
async def test_timeout_is_reported_as_timeout(tmp_path: Path, inventory: Inventory) -> None:
    action = AnsiblePlaybookAction(PROJECT, inventory=inventory(pid_file=str(tmp_path / "p")))
    with pytest.raises(ActionError) as raised:
        await action.run(playbook_request("sleep.yml", timeout=2))

    assert raised.value.message == "timeout"
    assert not raised.value.transient
    assert raised.value.detail["status"] == "timeout"


@pytest.mark.ansible
async def test_a_host_missing_from_the_inventory_is_target_gone(inventory: Inventory) -> None:
    action = AnsiblePlaybookAction(PROJECT, inventory=inventory("node-a"))
    with pytest.raises(TargetGone, match="worker-9"):
        await action.run(playbook_request("ok.yml", limit="worker-9"))


@pytest.mark.ansible
async def test_check_param_runs_in_check_mode(tmp_path: Path, inventory: Inventory) -> None:
    action = AnsiblePlaybookAction(PROJECT, inventory=inventory(out_dir=str(tmp_path)))
    result = await action.run(playbook_request("ok.yml", check=True))

    assert result.message.endswith("(check mode): 1 changed")
    assert not (tmp_path / "localhost.txt").exists()


@pytest.mark.ansible
async def test_rule_to_play_end_to_end_with_a_hostile_label(tmp_path: Path,
                                                            inventory: Inventory) -> None:
    """free-node-disk's repair from rules/node-repairs.yml: the mountpoint label reaches the play
    as data, and the play refuses it (it is not a path); nothing is run with it."""
    rule = load_rules([REPO / "rules" / "node-repairs.yml"]).by_name("free-node-disk")
    assert rule is not None
    labels = {"alertname": "NodeFilesystemAlmostFull", "node": "worker-1",
              "mountpoint": "/'; reboot; '"}
    repair = rule.step(1)  # rung 0 is the read-only diagnosis
    assert repair is not None
    request = repair.render(labels, {})
    assert request.target == "playbook:repair/free_disk.yml/worker-1"
    hosts = inventory("worker-1", repair_disk_temp_paths=[], repair_disk_vacuum_journal=False,
                      repair_disk_prune_images=False)
    action = AnsiblePlaybookAction(PLAYBOOKS, inventory=hosts)

    with pytest.raises(ActionError) as raised:
        await action.run(request)
    assert "Check the mountpoint to report on" in raised.value.message


def test_roles_path_defaults_to_the_sibling_roles_directory() -> None:
    action = AnsiblePlaybookAction(PLAYBOOKS)
    assert action._roles_path == (REPO / "roles",)
    assert AnsiblePlaybookAction(PROJECT)._roles_path == ()



@pytest.mark.parametrize("limit", ["all", "workers", "localhost", "worker-9"])
async def test_a_limit_from_labels_is_checked_against_the_inventory_again_at_run_time(
        inventory: Inventory, limit: str) -> None:
    """A request from the job table cannot widen the play beyond one inventory host."""
    hosts = inventory("worker-1", groups={"workers": ["worker-1"]})
    action = AnsiblePlaybookAction(PROJECT, inventory=hosts)
    request = playbook_request("ok.yml", limit=limit)
    request = ActionRequest(type=request.type, kind=request.kind, name=request.name,
                            params={**request.params, "limit_from_labels": True})
    with pytest.raises(ActionError, match="not a host of the inventory"):
        await action.run(request)
