"""playbooks/diagnose/node.yml run for real against localhost.

The node's tools are stand-ins first in the PATH (systemctl, journalctl, k3s
for crictl, tailscale) that answer from files the test writes and record what
they were asked; /proc is a directory the test fills. The play must report
the same in check mode as without it, change nothing, and publish one
structured `diagnosis` that the `ansible.playbook` action keeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remediator.actions.ansible.action import AnsiblePlaybookAction
from remediator.actions.ansible.playbook import PlaybookRequest, PlaybookResult
from remediator.actions.ansible.runner import run_playbook
from remediator.rules.model import load_rules
from tests.ansible.conftest import PLAYBOOKS, REPO, ROLES, FakeNode

pytestmark = pytest.mark.ansible

Inventory = Callable[..., dict[str, Any]]

_SYSTEMCTL = """#!/bin/sh
# systemctl show UNIT: loaded when a unit file exists, with the state in a file.
dir="${FAKE_NODE_DIR:?}"
echo "systemctl $*" >> "$dir/calls.log"
[ "$1" = show ] || { echo "read-only stand-in: $1" >&2; exit 3; }
if [ -e "$dir/units/$2.service" ]; then
  state=$(cat "$dir/$2.state" 2>/dev/null || echo failed)
  printf 'Id=%s.service\\nLoadState=loaded\\nActiveState=%s\\nSubState=%s\\nNRestarts=4\\n' "$2" "$state" "$state"
else
  printf 'Id=%s.service\\nLoadState=not-found\\nActiveState=inactive\\nSubState=dead\\n' "$2"
fi
"""

_JOURNALCTL = """#!/bin/sh
dir="${FAKE_NODE_DIR:?}"
echo "journalctl $*" >> "$dir/calls.log"
unit=$(echo "$1" | sed 's/^--unit=//')
cat "$dir/journal-$unit.log" 2>/dev/null
"""

_K3S = """#!/bin/sh
# k3s crictl info|ps: answers while containerd or k3s is active.
dir="${FAKE_NODE_DIR:?}"
echo "k3s $*" >> "$dir/calls.log"
state=$(cat "$dir/containerd.state" "$dir/k3s.state" 2>/dev/null)
case "$state" in *active*) ;; *)
  echo "connect: connect endpoint 'unix:///run/k3s/containerd/containerd.sock': connection refused" >&2
  exit 1 ;;
esac
case "$1 $2" in
  "crictl info") echo '{"status": {"conditions": [{"type": "RuntimeReady", "status": true, "reason": "", "message": ""}]}}' ;;
  "crictl ps") printf 'a1\\nb2\\nc3\\n' ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""

_TAILSCALE = """#!/bin/sh
# tailscale status --json | ping --c=1 ... ADDRESS: pong for the addresses listed in a file.
dir="${FAKE_NODE_DIR:?}"
echo "tailscale $*" >> "$dir/calls.log"
case "$1" in
  status) echo '{"BackendState": "Running", "Self": {"HostName": "worker-1"}}' ;;
  ping)
    for last; do :; done
    if grep -qx "$last" "$dir/reachable" 2>/dev/null; then
      echo "pong from peer ($last) via 192.0.2.7:41641 in 3ms"
    else
      echo "ping \\"$last\\" timed out" >&2; exit 1
    fi ;;
  *) exit 2 ;;
esac
"""

_MEMINFO = """MemTotal:       16000000 kB
MemFree:          200000 kB
MemAvailable:    {available} kB
SwapTotal:             0 kB
SwapFree:              0 kB
"""


def stand_ins(node: FakeNode, *, units: dict[str, str], reachable: list[str],
              available_kib: int, psi_avg60: float, journal: dict[str, list[str]]) -> Path:
    """Write the tools, the unit states, the journal and a /proc; return the /proc dir."""
    for name, script in (("systemctl", _SYSTEMCTL), ("journalctl", _JOURNALCTL),
                         ("k3s", _K3S), ("tailscale", _TAILSCALE)):
        (node.bin / name).write_text(script)
        (node.bin / name).chmod(0o755)
    for unit, state in units.items():
        node.install_unit(unit)
        node.set_state(unit, state)
    for unit, lines in journal.items():
        (node.root / f"journal-{unit}.log").write_text("".join(f"{line}\n" for line in lines))
    (node.root / "reachable").write_text("".join(f"{address}\n" for address in reachable))
    proc = node.root / "proc"
    (proc / "pressure").mkdir(parents=True)
    (proc / "meminfo").write_text(_MEMINFO.format(available=available_kib))
    (proc / "vmstat").write_text("nr_free_pages 50000\noom_kill 3\n")
    (proc / "pressure" / "memory").write_text(
        f"some avg10=0.00 avg60={psi_avg60:.2f} avg300=0.00 total=1\n"
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    return proc


def cluster(inventory: Inventory, node: FakeNode, proc: Path, **overrides: Any) -> dict[str, Any]:
    """worker-1 (this machine) and two peers in k3s_cluster, reached by Tailscale address."""
    settings = {"diagnose_node_proc_dir": str(proc), "diagnose_node_disk_exclude_types": [],
                "diagnose_node_journal_lines": 3, "diagnose_node_ping_timeout": "1s",
                **overrides}
    hosts = inventory("worker-1", "worker-2", "worker-3",
                      groups={"k3s_cluster": ["worker-1", "worker-2", "worker-3"]}, **settings)
    hosts["all"]["hosts"]["worker-2"]["ansible_host"] = "100.64.0.8"
    hosts["all"]["hosts"]["worker-3"]["ansible_host"] = "100.64.0.9"
    return hosts


def diagnose(hosts: dict[str, Any], node: FakeNode, *, check: bool = True) -> PlaybookResult:
    return run_playbook(PlaybookRequest(
        project_dir=PLAYBOOKS, playbook="diagnose/node.yml", inventory=hosts, limit="worker-1",
        roles_path=[ROLES], check=check, envvars=node.env(), timeout=120))


@pytest.fixture
def sick_node(fake_node: FakeNode) -> Path:
    return stand_ins(
        fake_node, units={"k3s-agent": "failed", "containerd": "failed"},
        reachable=["100.64.0.8"], available_kib=800_000, psi_avg60=23.5,
        journal={"k3s-agent": ["10:00 starting", "10:01 level=error msg=\"etcd down\"",
                               "10:02 password=hunter2-very-secret", "10:03 " + "x" * 1000],
                 "containerd": ["10:00 containerd exited"]})


def test_a_sick_node_is_described_and_nothing_changes(sick_node: Path, fake_node: FakeNode,
                                                      inventory: Inventory) -> None:
    hosts = cluster(inventory, fake_node, sick_node, diagnose_node_disk_warn_percent=0)
    result = diagnose(hosts, fake_node)

    assert result.ok, result.tail
    assert result.recap["worker-1"].changed == 0
    assert set(result.recap) == {"worker-1"}  # --limit: the peers are pinged, not run on
    report = result.stats["diagnosis"]["worker-1"]
    findings = report["findings"]
    assert "service k3s-agent is not active" in findings
    assert "service containerd is not active" in findings
    assert "container runtime does not answer (crictl info)" in findings
    assert "tailscale peer worker-3 unreachable" in findings
    assert "tailscale peer worker-2 unreachable" not in findings
    assert "memory available 5.0%" in findings
    assert "memory pressure (PSI some avg60) 23.5%" in findings
    assert any(f.startswith("disk ") and "space used at or above 0%" in f for f in findings)

    assert report["services"]["k3s"]["LoadState"] == "not-found"
    assert report["services"]["k3s-agent"]["ActiveState"] == "failed"
    assert report["runtime"]["answering"] is False
    assert "connection refused" in report["runtime"]["error"]
    assert report["tailscale"]["peers"]["worker-2"]["reachable"] is True
    assert report["memory"]["oom_kills"] == 3
    assert report["memory"]["total_bytes"] == 16_000_000 * 1024
    disk = report["disk"]
    assert disk and all(isinstance(d["used_percent"], int) and d["mount"] for d in disk)

    journal = report["journal"]["k3s-agent"]
    assert len(journal) == 3  # the last 3 lines only
    assert all(len(line) <= 300 for line in journal)
    assert "hunter2-very-secret" not in json.dumps(result.stats)
    assert not any(call.startswith("systemctl") and " show " not in f" {call} "
                   for call in fake_node.calls), "only `systemctl show` may run"


def test_check_mode_reports_what_a_normal_run_reports(sick_node: Path, fake_node: FakeNode,
                                                      inventory: Inventory) -> None:
    hosts = cluster(inventory, fake_node, sick_node, diagnose_node_disk_warn_percent=101)
    checked, normal = diagnose(hosts, fake_node), diagnose(hosts, fake_node, check=False)

    assert checked.ok and normal.ok, normal.tail
    assert normal.recap["worker-1"].changed == 0
    mine, theirs = checked.stats["diagnosis"]["worker-1"], normal.stats["diagnosis"]["worker-1"]
    assert mine["findings"] == theirs["findings"]
    assert mine["services"] == theirs["services"]


def test_a_healthy_node_has_no_findings(fake_node: FakeNode, inventory: Inventory) -> None:
    proc = stand_ins(fake_node, units={"k3s": "active"}, reachable=["100.64.0.8", "100.64.0.9"],
                     available_kib=12_000_000, psi_avg60=0.5, journal={"k3s": ["fine"]})
    result = diagnose(cluster(inventory, fake_node, proc, diagnose_node_disk_warn_percent=101),
                      fake_node)

    assert result.ok, result.tail
    report = result.stats["diagnosis"]["worker-1"]
    assert report["findings"] == []
    assert report["runtime"] == {"answering": True, "running_containers": 3, "error": "",
                                 "conditions": [{"type": "RuntimeReady", "status": True,
                                                 "reason": ""}]}
    assert report["tailscale"]["backend_state"] == "Running"


def test_a_node_without_the_tools_is_still_reported(fake_node: FakeNode,
                                                    inventory: Inventory) -> None:
    """No tailscale, no crictl, no pressure file: findings say so; the play does not fail."""
    proc = stand_ins(fake_node, units={}, reachable=[], available_kib=12_000_000,
                     psi_avg60=0, journal={})
    (proc / "pressure" / "memory").unlink()
    hosts = cluster(inventory, fake_node, proc, diagnose_node_disk_warn_percent=101,
                    diagnose_node_tailscale="no-such-tailscale",
                    diagnose_node_crictl=["no-such-crictl"])
    result = diagnose(hosts, fake_node)

    assert result.ok, result.tail
    report = result.stats["diagnosis"]["worker-1"]
    assert report["findings"] == ["container runtime does not answer (crictl info)",
                                  "tailscale is not running"]
    assert report["memory"]["pressure_some_avg60"] is None


async def test_the_rules_first_rung_keeps_the_diagnosis_in_its_result(
        sick_node: Path, fake_node: FakeNode, inventory: Inventory) -> None:
    rules = load_rules([REPO / "rules" / "node-repairs.yml"]).rules
    requests = {rule.name: rule.action.render({"alertname": "X", "node": "worker-1"}, {})
                for rule in rules}
    assert set(requests) == {"restart-k3s-service", "free-node-disk",
                             "restart-container-runtime", "recover-notready-node"}
    assert len({json.dumps(r.to_json(), sort_keys=True) for r in requests.values()}) == 1
    request = requests["restart-k3s-service"]
    assert (request.target, request.params["check"]) == ("playbook:diagnose/node.yml/worker-1", True)
    hosts = cluster(inventory, fake_node, sick_node, diagnose_node_disk_warn_percent=101)
    action = AnsiblePlaybookAction(PLAYBOOKS, inventory=hosts, envvars=fake_node.env())

    result = await action.run(request)

    assert result.message.startswith("diagnose/node.yml succeeded on worker-1 (check mode): "
                                     "0 changed; findings: worker-1: service k3s-agent is not "
                                     "active, service containerd is not active")
    findings = result.detail["stats"]["diagnosis"]["worker-1"]["findings"]
    assert "tailscale peer worker-3 unreachable" in findings
