"""molecule scenarios of the roles (default driver, localhost, no Docker), with idempotence."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.ansible.conftest import ROLES, VENV_BIN, tool_env

SCENARIOS = sorted(path.parent.parent.parent
                   for path in ROLES.glob("*/molecule/default/molecule.yml"))

pytestmark = [pytest.mark.ansible, pytest.mark.slow]


def test_the_roles_that_can_converge_here_have_a_scenario() -> None:
    assert {role.name for role in SCENARIOS} == {"k3s_prereq", "k3s_server", "k3s_agent",
                                                  "k3s_gpu", "k3s_upgrade", "k3s_preflight"}


@pytest.mark.parametrize("role", SCENARIOS, ids=lambda p: p.name)
def test_molecule_scenario_converges_idempotently(role: Path, tmp_path: Path) -> None:
    done = subprocess.run([str(VENV_BIN / "molecule"), "test"], cwd=role,
                          env=tool_env(tmp_path), capture_output=True, text=True,
                          timeout=300, check=False)
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert done.returncode == 0, output[-6000:]
    for step in ("converge", "idempotence", "verify"):
        assert re.search(rf"{step}: Executed: Successful", output), f"{step} did not run"
