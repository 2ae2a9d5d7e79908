"""Inventory editing: properties (Hypothesis) and examples."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from remediator.cluster import inventory as inv

EXAMPLE_PATH = Path(__file__).resolve().parents[2] / "playbooks" / "inventory" / "hosts.example.yml"
EXAMPLE = EXAMPLE_PATH.read_text()

names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?(\.[a-z0-9]{1,6})?", fullmatch=True)
ips = st.ip_addresses().map(str)
label_keys = st.from_regex(r"([a-z]{1,6}\.io/)?[a-z]([-a-z0-9_.]{0,10}[a-z0-9])?",
                           fullmatch=True)
label_values = st.from_regex(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?)?",
                             fullmatch=True)
labels = st.lists(st.builds(lambda k, v: f"{k}={v}", label_keys, label_values),
                  max_size=3, unique=True)
taints = st.lists(st.builds(lambda k, v, e: f"{k}={v}:{e}" if v else f"{k}:{e}",
                            label_keys, label_values, st.sampled_from(inv.TAINT_EFFECTS)),
                  max_size=2, unique=True)
comments = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9][ A-Za-z0-9,.:()-]{0,30}",
                                              fullmatch=True))


@st.composite
def nodes(draw: st.DrawFn) -> inv.Node:
    return inv.Node(name=draw(names), ip=draw(ips), role=draw(st.sampled_from(inv.ROLES)),
                    gpu=draw(st.booleans()), labels=tuple(draw(labels)),
                    taints=tuple(draw(taints)))


@st.composite
def inventories(draw: st.DrawFn) -> str:
    """Inventory files in the example's style, with comments in many places."""
    host_names = draw(st.lists(names.filter(lambda n: n[0].isalpha()), max_size=6,
                               unique=True))
    host_ips = draw(st.lists(ips, min_size=len(host_names), max_size=len(host_names),
                             unique=True))
    split = draw(st.integers(0, len(host_names)))
    lines = ["---", "# an inventory", "all:", "  children:", "    k3s_cluster:",
             "      vars:", "        k3s_version: v1.31.4+k3s1", "      children:"]
    for group, members in (("server", list(zip(host_names[:split], host_ips[:split],
                                               strict=True))),
                           ("agent", list(zip(host_names[split:], host_ips[split:],
                                              strict=True)))):
        if (comment := draw(comments)) is not None:
            lines.append(f"        # {comment}")
        lines.append(f"        {group}:")
        if not members:
            lines.append("          hosts: {}")
            continue
        lines.append("          hosts:")
        for name, ip in members:
            if (comment := draw(comments)) is not None:
                lines.append(f"            # {comment}")
            lines.append(f"            {name}:")
            eol = draw(comments)
            address = f'"{ip}"' if ":" in ip else ip
            lines.append(f"              ansible_host: {address}" + (f"  # {eol}" if eol else ""))
            if draw(st.booleans()):
                lines.append("              k3s_node_labels:")
                lines.append("                - tier=web")
    if (comment := draw(comments)) is not None:
        lines.append(f"# {comment}")
    return "\n".join(lines) + "\n"


def semantic(text: str) -> Any:
    return yaml.safe_load(text)


@settings(max_examples=60, deadline=None)
@given(text=st.one_of(st.just(EXAMPLE), inventories()), node=nodes())
def test_add_then_remove_restores_the_file_byte_for_byte(text: str, node: inv.Node) -> None:
    existing = inv.hosts(text)
    assume(node.name not in existing)
    assume(all(not _same(vars_.get("ansible_host"), node.ip) for vars_ in existing.values()))

    added = inv.add_node_text(text, node)

    assert inv.remove_node_text(added, node.name) == text


@settings(max_examples=60, deadline=None)
@given(text=st.one_of(st.just(EXAMPLE), inventories()), node=nodes())
def test_add_keeps_everything_else_and_adds_the_node(text: str, node: inv.Node) -> None:
    existing = inv.hosts(text)
    assume(node.name not in existing)
    assume(all(not _same(vars_.get("ansible_host"), node.ip) for vars_ in existing.values()))

    added = inv.add_node_text(text, node)

    after = inv.hosts(added)
    assert {name: after[name] for name in existing} == existing
    assert after[node.name]["ansible_host"] == node.ip
    assert after[node.name].get("k3s_gpu", False) is node.gpu
    assert after[node.name].get("k3s_node_labels", []) == list(node.labels)
    assert after[node.name].get("k3s_node_taints", []) == list(node.taints)
    assert node.name in inv.group_members(added, node.role)
    comment_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("#")]
    assert [line.strip() for line in added.splitlines()
            if line.strip().startswith("#")] == comment_lines


def _comments_after_removal(text: str, name: str) -> list[str]:
    """The comments of `text` less those of host `name`: above it and inside it."""
    lines = text.splitlines()
    start = index = lines.index(f"            {name}:")
    while start > 0 and lines[start - 1].startswith("            #"):
        start -= 1
    end = index + 1
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > 12:
        end += 1
    return [line.split("#", 1)[1] for line in lines[:start] + lines[end:] if "#" in line]


@settings(max_examples=60, deadline=None)
@given(text=inventories(), data=st.data())
def test_removing_a_node_drops_only_its_own_comments(text: str, data: st.DataObject) -> None:
    existing = inv.hosts(text)
    assume(existing)
    name = data.draw(st.sampled_from(sorted(existing)))

    removed = inv.remove_node_text(text, name)

    assert inv.hosts(removed) == {host: values for host, values in existing.items()
                                  if host != name}
    comments_left = [line.split("#", 1)[1] for line in removed.splitlines() if "#" in line]
    assert comments_left == _comments_after_removal(text, name)


def _same(address: Any, ip: str) -> bool:
    if not isinstance(address, str):
        return False
    try:
        return ipaddress.ip_address(address) == ipaddress.ip_address(ip)
    except ValueError:
        return False


bad_names = st.one_of(
    st.sampled_from(["", "x'; reboot; '", "Worker-1", "-worker", "worker-", "a..b", "a b",
                     "$(reboot)", "a/b", "a" * 254, "worker_1", "all", "server", "agent"]),
    st.text(min_size=1, max_size=20).filter(
        lambda s: not inv.validation._DNS1123_SUBDOMAIN.fullmatch(s)))
bad_ips = st.one_of(st.sampled_from(["", "256.1.1.1", "1.2.3", "10.0.0.1/24", "x'; reboot; '",
                                     "::g", "localhost", " 10.0.0.1"]),
                    st.text(max_size=20).filter(lambda s: not _is_ip(s)))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _add_refused(path: Path, **fields: Any) -> None:
    before = path.read_bytes()
    with pytest.raises(inv.InventoryError):
        inv.add_node(path, inv.Node(**{"name": "new-node", "ip": "100.64.9.9",
                                       "role": "agent", **fields}))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=bad_names)
def test_invalid_names_are_refused_and_the_file_untouched(tmp_path: Path, name: str) -> None:
    path = _example(tmp_path)
    _add_refused(path, name=name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ip=bad_ips)
def test_invalid_ips_are_refused_and_the_file_untouched(tmp_path: Path, ip: str) -> None:
    path = _example(tmp_path)
    _add_refused(path, ip=ip)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_duplicates_are_refused_and_the_file_untouched(tmp_path: Path,
                                                       data: st.DataObject) -> None:
    path = _example(tmp_path)
    existing = inv.hosts(EXAMPLE)
    name = data.draw(st.sampled_from(sorted(existing)))
    if data.draw(st.booleans()):
        _add_refused(path, name=name)
    else:
        _add_refused(path, ip=existing[name]["ansible_host"])


def _example(tmp_path: Path) -> Path:
    folder = tmp_path / "inv"
    folder.mkdir(exist_ok=True)
    for leftover in folder.iterdir():
        leftover.unlink()
    path = folder / "hosts.yml"
    path.write_text(EXAMPLE)
    return path


@pytest.mark.parametrize(("field", "value"), [
    pytest.param("labels", ("no-equals",), id="label-without-value"),
    pytest.param("labels", ("bad key=x",), id="label-bad-key"),
    pytest.param("labels", ("k=" + "v" * 64,), id="label-value-too-long"),
    pytest.param("labels", ("a=1", "a=1"), id="label-twice"),
    pytest.param("taints", ("gpu=yes",), id="taint-without-effect"),
    pytest.param("taints", ("gpu=yes:Sometimes",), id="taint-bad-effect"),
    pytest.param("role", "worker", id="bad-role"),
])
def test_invalid_labels_taints_and_roles_are_refused(tmp_path: Path, field: str,
                                                     value: Any) -> None:
    _add_refused(_example(tmp_path), **{field: value})


@pytest.mark.parametrize("name", sorted(inv.hosts(EXAMPLE)))
def test_removing_a_node_keeps_the_rest_and_the_group_comments(name: str) -> None:
    removed = inv.remove_node_text(EXAMPLE, name)

    before, after = inv.hosts(EXAMPLE), inv.hosts(removed)
    assert name not in after
    assert after == {host: values for host, values in before.items() if host != name}
    assert "# Workers, addressed by their Tailscale IPs." in removed
    assert "# Control plane: 1 server, or 3 and more (embedded etcd)." in removed
    assert removed.startswith("---\n# Example inventory")


def test_removing_the_only_host_leaves_an_empty_group() -> None:
    text = "all:\n  children:\n    agent:\n      hosts:\n        w-1:\n          ansible_host: 10.0.0.1\n"
    removed = inv.remove_node_text(text, "w-1")
    assert semantic(removed) == {"all": {"children": {"agent": {"hosts": {}}}}}


def test_removing_an_unknown_node_is_refused() -> None:
    with pytest.raises(inv.InventoryError, match="not in the inventory"):
        inv.remove_node_text(EXAMPLE, "worker-42")


def test_a_missing_group_is_refused() -> None:
    text = "all:\n  children:\n    server:\n      hosts: {}\n"
    with pytest.raises(inv.InventoryError, match="no group 'agent'"):
        inv.add_node_text(text, inv.Node(name="w-1", ip="10.0.0.1", role="agent"))


def test_not_an_inventory_is_refused() -> None:
    for text in ("- a\n- b\n", "all: [1, 2]\n", "all: {children: {x: 1}}\n  bad: [\n"):
        with pytest.raises(inv.InventoryError):
            inv.add_node_text(text, inv.Node(name="w-1", ip="10.0.0.1", role="agent"))


def test_file_mode_is_kept(tmp_path: Path) -> None:
    path = _example(tmp_path)
    path.chmod(0o640)
    inv.add_node(path, inv.Node(name="w-9", ip="100.64.0.99", role="agent"))
    assert path.stat().st_mode & 0o777 == 0o640
    assert inv.remove_node(path, "w-9") == {"ansible_host": "100.64.0.99"}
    assert path.read_text() == EXAMPLE


def test_example_inventory_round_trips_unchanged() -> None:
    yaml_rt, data = inv._load(EXAMPLE)
    assert inv._dump(yaml_rt, data) == EXAMPLE


def all_host_entries(text: str) -> list[str]:
    """Every host entry of every group (a host listed twice shows twice)."""
    data = yaml.safe_load(text)
    found: list[str] = []

    def walk(group: dict[str, Any]) -> None:
        found.extend((group.get("hosts") or {}).keys())
        for child in (group.get("children") or {}).values():
            walk(child or {})

    walk(data["all"])
    return found


operations = st.lists(st.one_of(
    st.tuples(st.just("add"), nodes()),
    st.tuples(st.just("remove"), names)), max_size=12)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=inventories(), steps=operations)
def test_any_sequence_of_edits_keeps_hosts_and_ips_unique(text: str,
                                                          steps: list[tuple[str, Any]]) -> None:
    """Edits that would duplicate a host or an IP are refused; the others apply."""
    for kind, argument in steps:
        try:
            text = (inv.add_node_text(text, argument) if kind == "add"
                    else inv.remove_node_text(text, argument))
        except inv.InventoryError:
            continue
        entries = all_host_entries(text)
        assert len(entries) == len(set(entries)), "a host is listed twice"
        addresses = [ipaddress.ip_address(str(v["ansible_host"]))
                     for v in inv.hosts(text).values() if v.get("ansible_host")]
        assert len(addresses) == len(set(addresses)), "two hosts share an IP"
        if kind == "add":
            assert inv.hosts(text)[argument.name]["ansible_host"] == argument.ip
        else:
            assert argument not in inv.hosts(text)
