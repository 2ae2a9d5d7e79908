"""`remediator cluster preflight` (playbooks/preflight.yml) run for real.

The nodes are loopback addresses. For the network checks the command runs in a
private network namespace (`unshare -n`, so the host's network is not touched)
where packets to 127.0.0.3 are dropped: real pings and connections pass between
127.0.0.1 and 127.0.0.2 and fail towards 127.0.0.3.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from remediator.cluster.cli import app
from tests.cluster.conftest import REPO

pytestmark = pytest.mark.ansible

runner = CliRunner()
ADDRESSES = {"cp-1": "127.0.0.1", "worker-1": "127.0.0.2", "worker-2": "127.0.0.3"}
RELAXED = {"k3s_preflight_require_ntp": False, "k3s_preflight_min_disk_mb": 1,
           "k3s_preflight_min_memory_mb": 1, "k3s_preflight_kernel_modules": [],
           "k3s_preflight_max_clock_skew": 30, "k3s_preflight_probe_timeout": 1}


def write_inventory(tmp_path: Path, hosts: dict[str, str], **group_vars: Any) -> Path:
    variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "ansible_become": False, **RELAXED, **group_vars}
    servers = {name: {"ansible_host": ip} for name, ip in hosts.items() if name.startswith("cp")}
    agents = {name: {"ansible_host": ip} for name, ip in hosts.items() if name not in servers}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"k3s_cluster": {
        "vars": variables, "children": {"server": {"hosts": servers},
                                        "agent": {"hosts": agents}}}}}}))
    return path


def in_private_network(inventory: Path, drop: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("unshare") is None or shutil.which("iptables") is None:
        pytest.skip("needs unshare and iptables for a private network namespace")
    script = ('ip link set lo up && iptables -A INPUT -d "$1" -j DROP && shift && exec "$@"')
    command = [sys.executable, "-m", "remediator", "cluster", "preflight",
               "--inventory", str(inventory), "--playbook-dir", str(REPO / "playbooks")]
    done = subprocess.run(["unshare", "--net", "sh", "-c", script, "sh", drop, *command],
                          capture_output=True, text=True, timeout=300, check=False)
    if "Operation not permitted" in done.stderr and "unshare" in done.stderr:
        pytest.skip("no permission for a private network namespace")
    return done


def test_pairs_that_reach_each_other_pass(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, {"cp-1": "127.0.0.1", "worker-1": "127.0.0.2"})
    done = in_private_network(inventory, drop="127.0.0.9")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "recap: successful" in done.stdout


def test_a_node_the_others_cannot_reach_is_named_in_each_failing_pair(tmp_path: Path) -> None:
    done = in_private_network(write_inventory(tmp_path, ADDRESSES), drop="127.0.0.3")
    output = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 1, output[-3000:]
    for source in ("cp-1", "worker-1"):
        assert f"{source} -> worker-2 (127.0.0.3): ping no-reply" in output
        assert f"{source} -> worker-2 (127.0.0.3) port 10250/tcp: timeout" in output
    # Refused connections to 6443 and 10250 on 127.0.0.1/2 count as reached.
    assert "-> cp-1" not in output and "-> worker-1" not in output


def test_node_checks_name_what_is_missing(tmp_path: Path) -> None:
    modules = tmp_path / "modules"
    release = Path("/proc/sys/kernel/osrelease").read_text().strip()
    (modules / release).mkdir(parents=True)
    (modules / release / "modules.dep").write_text(
        "kernel/net/bridge/br_netfilter.ko.zst: kernel/net/bridge/bridge.ko.zst\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    timedatectl = bin_dir / "timedatectl"
    timedatectl.write_text("#!/bin/sh\necho no\n")
    timedatectl.chmod(0o755)
    inventory = write_inventory(
        tmp_path, {"cp-1": "127.0.0.1"}, k3s_preflight_min_disk_mb=10**9,
        k3s_preflight_min_memory_mb=10**8, k3s_preflight_require_ntp=True,
        k3s_preflight_kernel_modules=["br_netfilter", "no_such_module"],
        k3s_preflight_modules_dir=str(modules), k3s_preflight_data_dir=str(tmp_path))
    result = runner.invoke(app, ["preflight", "--inventory", str(inventory),
                                 "--playbook-dir", str(REPO / "playbooks")],
                           env={"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin"})
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert f"needs {10**9}" in output and f"needs {10**8}" in output
    assert "lacks kernel modules no_such_module (neither loaded nor in the module tree)" in output
    assert "br_netfilter" not in output.split("lacks kernel modules")[1][:40]
    assert "not NTP-synchronised (timedatectl: no)" in output
