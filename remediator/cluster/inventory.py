"""Add and remove nodes in the cluster's Ansible inventory, keeping the file as written.

The inventory is a YAML file of the shape of `playbooks/inventory/hosts.example.yml`:
groups `server` and `agent` somewhere under `all`, each with a `hosts` mapping.
Edits go through ruamel.yaml's round-trip mode, so comments, order and
quoting stay; comment lines that follow the last host of a group (they
usually introduce the next group) stay below the group when a host is added
or removed (`cluster.yamlcomments` moves them). Every input is validated
before anything is written, a refused edit leaves the file untouched, and
the file is replaced atomically.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from remediator.cluster import yamlcomments as comments
from remediator.model import validation

Role = Literal["server", "agent"]
ROLES: tuple[Role, ...] = ("server", "agent")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


class InventoryError(ValueError):
    """An edit that is refused; the inventory file is left as it was."""


def node_name(value: str) -> str:
    """A node name: an RFC 1123 subdomain (a Kubernetes node name and an inventory host)."""
    try:
        return validation.object_name(value)
    except validation.InvalidTarget as error:
        raise InventoryError(f"node {error}") from None


def node_ip(value: str) -> str:
    """An IPv4 or IPv6 address, in its canonical form."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InventoryError(f"{value!r} is not an IP address") from None


def _label_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if slash:
        try:
            validation.object_name(prefix)
        except validation.InvalidTarget:
            raise InventoryError(f"label prefix {prefix!r} is not a DNS subdomain") from None
    if len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        raise InventoryError(f"label name {name!r} is not a valid Kubernetes label name")


def node_label(value: str) -> str:
    """A Kubernetes label as `key=value`."""
    key, equals, label_value = value.partition("=")
    if not equals:
        raise InventoryError(f"label {value!r} is not key=value")
    _label_key(key)
    if label_value and (len(label_value) > 63 or not _LABEL_NAME.fullmatch(label_value)):
        raise InventoryError(f"label value {label_value!r} is not a valid Kubernetes label value")
    return value


def node_taint(value: str) -> str:
    """A Kubernetes taint as `key[=value]:Effect`."""
    spec, colon, effect = value.rpartition(":")
    if not colon or effect not in TAINT_EFFECTS:
        effects = ", ".join(TAINT_EFFECTS)
        raise InventoryError(f"taint {value!r} is not key[=value]:Effect, Effect one of {effects}")
    key, equals, taint_value = spec.partition("=")
    _label_key(key)
    if equals and taint_value and (len(taint_value) > 63
                                   or not _LABEL_NAME.fullmatch(taint_value)):
        raise InventoryError(f"taint value {taint_value!r} is not valid")
    return value


@dataclass(frozen=True, kw_only=True)
class Node:
    """A node as the inventory holds it; validated on creation."""

    name: str
    ip: str
    role: Role
    gpu: bool = False
    labels: tuple[str, ...] = ()
    taints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        node_name(self.name)
        object.__setattr__(self, "ip", node_ip(self.ip))
        if self.role not in ROLES:
            raise InventoryError(f"role must be one of {', '.join(ROLES)}, not {self.role!r}")
        for label in self.labels:
            node_label(label)
        for taint in self.taints:
            node_taint(taint)
        if len(set(self.labels)) != len(self.labels) or len(set(self.taints)) != len(self.taints):
            raise InventoryError("labels and taints must not repeat")

    def host_vars(self) -> CommentedMap:
        entry = CommentedMap()
        entry["ansible_host"] = self.ip
        if self.gpu:
            entry["k3s_gpu"] = True
        if self.labels:
            entry["k3s_node_labels"] = CommentedSeq(self.labels)
        if self.taints:
            entry["k3s_node_taints"] = CommentedSeq(self.taints)
        return entry


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(text: str) -> tuple[YAML, Any]:
    yaml = _yaml()
    yaml.explicit_start = text.lstrip().startswith("---")
    try:
        data = yaml.load(text)
    except YAMLError as error:
        raise InventoryError(f"the inventory is not valid YAML: {error}") from None
    if not isinstance(data, CommentedMap) or not isinstance(data.get("all"), CommentedMap):
        raise InventoryError("the inventory has no `all` group")
    return yaml, data


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _groups(group: CommentedMap, name: str = "all") -> Iterator[tuple[str, CommentedMap]]:
    """Every group of the tree, depth first: (name, group mapping)."""
    yield name, group
    children = group.get("children")
    if isinstance(children, CommentedMap):
        for child_name, child in children.items():
            if isinstance(child, CommentedMap):
                yield from _groups(child, str(child_name))


def _hosts_of(group: CommentedMap) -> CommentedMap | None:
    hosts = group.get("hosts")
    return hosts if isinstance(hosts, CommentedMap) else None


def _find_group(root: CommentedMap, name: str) -> CommentedMap:
    for group_name, group in _groups(root):
        if group_name == name:
            return group
    raise InventoryError(f"the inventory has no group {name!r}")


def hosts(text: str) -> dict[str, dict[str, Any]]:
    """Every host of the inventory with its variables (merged over its groups)."""
    _, data = _load(text)
    found: dict[str, dict[str, Any]] = {}
    for _, group in _groups(data["all"]):
        for name, host_vars in (_hosts_of(group) or {}).items():
            found.setdefault(str(name), {}).update(dict(host_vars or {}))
    return found


def add_node_text(text: str, node: Node) -> str:
    """The inventory `text` with `node` appended to its role's group."""
    yaml, data = _load(text)
    existing = hosts(text)
    if node.name in existing:
        raise InventoryError(f"node {node.name!r} is already in the inventory")
    if node.name in {name for name, _ in _groups(data["all"])} | {"ungrouped"}:
        raise InventoryError(f"{node.name!r} is the name of a group")
    for name, host_vars in existing.items():
        address = host_vars.get("ansible_host")
        if isinstance(address, str) and _same_ip(address, node.ip):
            raise InventoryError(f"{node.ip} is already the address of node {name!r}")
    group = _find_group(data["all"], node.role)
    group_hosts = group.get("hosts")
    if group_hosts is None:
        group_hosts = group["hosts"] = CommentedMap()
    if not isinstance(group_hosts, CommentedMap):
        raise InventoryError(f"the hosts of group {node.role!r} are not a mapping")
    if len(group_hosts):
        token, below = comments.take_below(group_hosts[next(reversed(group_hosts))])
    else:
        # Comment lines below `hosts: {}` introduce what follows the group.
        token, below = comments.take_below_key(group, "hosts")
        group_hosts.fa.set_block_style()
    group_hosts[node.name] = node.host_vars()
    comments.give_below(group_hosts[node.name], token, below)
    return _dump(yaml, data)


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def remove_node_text(text: str, name: str) -> str:
    """The inventory `text` without host `name` (in every group that lists it)."""
    node_name(name)
    yaml, data = _load(text)
    found = False
    for _, group in _groups(data["all"]):
        group_hosts = _hosts_of(group)
        if group_hosts is None or name not in group_hosts:
            continue
        found = True
        keys = list(group_hosts)
        index = keys.index(name)
        # Comment lines right above the host describe it: they go with it.
        if index > 0:
            comments.drop_comment_above_next(group_hosts[keys[index - 1]])
        else:
            comments.drop_comment_above_first(group, "hosts")
        token, below = comments.take_below(group_hosts[name])
        del group_hosts[name]
        if index > 0:
            comments.give_below(group_hosts[keys[index - 1]], token, below)
        elif below and len(group_hosts):
            # The comment introduced the next host: it still does.
            comments.give_above_first(group, "hosts", token, below)
        if not len(group_hosts):
            group_hosts.fa.set_flow_style()
            comments.give_below_key(group, "hosts", token, below)
    if not found:
        raise InventoryError(f"node {name!r} is not in the inventory")
    return _dump(yaml, data)


def _write_atomically(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o600
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_DURATION = re.compile(r"[1-9][0-9]{0,5}(s|m|h)")


def duration(value: str) -> str:
    """A kubectl duration such as `90s`, `5m` or `1h`."""
    if not _DURATION.fullmatch(value):
        raise InventoryError(f"{value!r} is not a duration like 90s, 5m or 1h")
    return value


def read_inventory(path: Path) -> str:
    """The inventory file's text (an InventoryError when it cannot be read)."""
    return _read(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise InventoryError(f"cannot read {path}: {error.strerror}") from None


def add_node(path: Path, node: Node) -> None:
    """Add `node` to the inventory file at `path` (validated first, written atomically)."""
    _write_atomically(path, add_node_text(_read(path), node))


def remove_node(path: Path, name: str) -> dict[str, Any]:
    """Remove node `name` from the inventory file; returns the variables it had."""
    text = _read(path)
    removed = hosts(text).get(name, {})
    _write_atomically(path, remove_node_text(text, name))
    return removed


def group_members(text: str, group: str) -> list[str]:
    """Hosts listed directly in `group`."""
    _, data = _load(text)
    return [str(name) for name in (_hosts_of(_find_group(data["all"], group)) or {})]


def role_members(text: str) -> dict[str, list[str]]:
    """The hosts of the `server` and `agent` groups, in file order (a group may be absent)."""
    _, data = _load(text)
    found = {name: group for name, group in _groups(data["all"])}
    return {role: [str(name) for name in (_hosts_of(found[role]) or {})] if role in found else []
            for role in ("server", "agent")}


def groups(root: CommentedMap) -> Iterator[tuple[str, CommentedMap]]:
    """Every group under `all` (included), depth first: (name, group mapping)."""
    return _groups(root)


def write_atomically(path: Path, text: str) -> None:
    """Replace the file at `path` with `text`, keeping its mode."""
    _write_atomically(path, text)


def add_labels_text(text: str, name: str, labels: tuple[str, ...]) -> str:
    """The inventory `text` with `labels` added to host `name`'s k3s_node_labels.

    A label whose key the host already has is left as the operator wrote it.
    """
    for label in labels:
        node_label(label)
    yaml, data = _load(text)
    entry_found = False
    for _, group in _groups(data["all"]):
        group_hosts = _hosts_of(group)
        if group_hosts is None or name not in group_hosts:
            continue
        entry_found = True
        host_vars = group_hosts[name]
        if host_vars is None:
            host_vars = group_hosts[name] = CommentedMap()
        if not isinstance(host_vars, CommentedMap):
            raise InventoryError(f"the variables of {name!r} are not a mapping")
        current = host_vars.get("k3s_node_labels")
        if current is None:
            current = CommentedSeq()
        if not isinstance(current, CommentedSeq):
            raise InventoryError(f"k3s_node_labels of {name!r} is not a list")
        keys = {str(item).partition("=")[0] for item in current}
        new = [label for label in labels if label.partition("=")[0] not in keys]
        if not new:
            return text
        token, below = comments.take_below(host_vars)
        current.extend(new)
        host_vars["k3s_node_labels"] = current
        comments.give_below(host_vars, token, below)
        break
    if not entry_found:
        raise InventoryError(f"node {name!r} is not in the inventory")
    return _dump(yaml, data)


def add_labels(path: Path, name: str, labels: tuple[str, ...]) -> None:
    """Add `labels` to node `name` in the inventory file (written atomically)."""
    text = _read(path)
    edited = add_labels_text(text, name, labels)
    if edited != text:
        _write_atomically(path, edited)
