"""`remediator cluster config get|set`: examples and properties (Hypothesis) of group-variable edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from remediator.cluster import groupvars
from remediator.cluster.cli import app
from tests.cluster.test_inventory import EXAMPLE, inventories

runner = CliRunner()
CLUSTER = groupvars.Target(Path("hosts.yml"), ("vars",))


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(EXAMPLE)
    return path


def cluster_vars(text: str) -> dict[str, Any]:
    variables: dict[str, Any] = yaml.safe_load(text)["all"]["children"]["k3s_cluster"]["vars"]
    return variables


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def test_get_prints_a_group_variable(inventory_file: Path) -> None:
    result = runner.invoke(app, ["config", "get", "k3s_version", "-i", str(inventory_file)])
    assert result.exit_code == 0, result.output
    assert result.output == "v1.31.4+k3s1\n"


def test_set_changes_one_line_and_keeps_every_comment(inventory_file: Path) -> None:
    result = runner.invoke(app, ["config", "set", "k3s_version", "v1.32.1+k3s1",
                                 "-i", str(inventory_file)])
    assert result.exit_code == 0, result.output
    text = inventory_file.read_text()
    changed = [(old, new) for old, new in zip(EXAMPLE.splitlines(), text.splitlines(),
                                                strict=True) if old != new]
    assert changed == [("        k3s_version: v1.31.4+k3s1", "        k3s_version: v1.32.1+k3s1")]


def test_set_adds_typed_and_nested_values(inventory_file: Path) -> None:
    for key, value in (("k3s_gpu_time_slicing_replicas", "4"), ("k3s_gpu_check", "false"),
                       ("k3s_server_disable", "[traefik, servicelb]"),
                       ("k3s_system_reserved.cpu", "'1'")):
        result = runner.invoke(app, ["config", "set", key, value, "-i", str(inventory_file)])
        assert result.exit_code == 0, result.output
    variables = cluster_vars(inventory_file.read_text())
    assert variables["k3s_gpu_time_slicing_replicas"] == 4
    assert variables["k3s_gpu_check"] is False
    assert variables["k3s_server_disable"] == ["traefik", "servicelb"]
    assert variables["k3s_system_reserved"] == {"cpu": "1"}
    assert comments(inventory_file.read_text()) == comments(EXAMPLE)
    got = runner.invoke(app, ["config", "get", "k3s_server_disable", "-i", str(inventory_file)])
    assert got.output == "[traefik, servicelb]\n"


def test_a_group_vars_file_next_to_the_inventory_is_edited_instead(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(EXAMPLE)
    group_file = tmp_path / "group_vars" / "k3s_cluster.yml"
    group_file.parent.mkdir()
    group_file.write_text("---\n# cluster-wide\nk3s_version: v1.31.4+k3s1  # pinned\n")
    result = runner.invoke(app, ["config", "set", "k3s_version", "v1.32.1+k3s1",
                                 "-i", str(inventory)])
    assert result.exit_code == 0, result.output
    assert group_file.read_text() == "---\n# cluster-wide\nk3s_version: v1.32.1+k3s1  # pinned\n"
    assert inventory.read_text() == EXAMPLE


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["get", "k3s_nope"], "k3s_nope is not set for group 'k3s_cluster'", id="unset"),
    pytest.param(["get", "k3s_version", "--group", "nope"], "no group 'nope'", id="group"),
    pytest.param(["set", "k3s-version", "x"], "not a variable name", id="bad-key"),
    pytest.param(["set", "k3s_token", "abcdefabcdefabcdef"], "looks like a secret", id="secret"),
    pytest.param(["set", "k3s_version", "{{ lookup('pipe', 'id') }}"], "templates",
                 id="template"),
    pytest.param(["set", "k3s_version", "[unclosed"], "not a YAML value", id="bad-yaml"),
    pytest.param(["set", "ansible_user.x", "y"], "ansible_user is not a mapping", id="nest"),
])
def test_refusals_name_the_problem_and_change_nothing(inventory_file: Path, args: list[str],
                                                      message: str) -> None:
    result = runner.invoke(app, ["config", *args, "-i", str(inventory_file)])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert inventory_file.read_text() == EXAMPLE


keys = st.from_regex(r"k3s_[a-z][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda key: not groupvars._SECRET.search(key))
scalars = st.one_of(
    st.integers(-10**6, 10**6), st.booleans(),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.+/_-]{0,20}", fullmatch=True))
values = st.one_of(scalars, st.lists(scalars, max_size=3))


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=inventories(), key=keys, value=values)
def test_set_then_get_round_trips_and_changes_nothing_else(text: str, key: str,
                                                           value: Any) -> None:
    edited = groupvars.set_value_text(text, "k3s_cluster", key, value, CLUSTER)
    assert groupvars.get_value(edited, "k3s_cluster", key, CLUSTER) == value
    before, after = yaml.safe_load(text), yaml.safe_load(edited)
    assert cluster_vars(edited) == {**cluster_vars(text), key: value}
    after["all"]["children"]["k3s_cluster"]["vars"] = before["all"]["children"][
        "k3s_cluster"]["vars"]
    assert after == before
    assert comments(edited) == comments(text)
    # Setting it again to the same value is a fixed point.
    assert groupvars.set_value_text(edited, "k3s_cluster", key, value, CLUSTER) == edited


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=inventories(), value=st.from_regex(r"v1\.[0-9]{2}\.[0-9]\+k3s[0-9]",
                                               fullmatch=True))
def test_setting_back_the_old_value_restores_the_text(text: str, value: str) -> None:
    edited = groupvars.set_value_text(text, "k3s_cluster", "k3s_version", value, CLUSTER)
    restored = groupvars.set_value_text(edited, "k3s_cluster", "k3s_version", "v1.31.4+k3s1",
                                        CLUSTER)
    assert restored == text
