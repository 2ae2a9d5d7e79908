"""`remediator cluster config get|set`: read and edit the cluster's group variables.

The variables live in the inventory under the group's `vars:` (as in
`playbooks/inventory/hosts.example.yml`), or in `group_vars/<group>.yml` next to
the inventory when that file exists. Edits go through ruamel.yaml's round-trip
mode: comments, order and quoting of everything else stay as written, and the
file is replaced atomically. Keys are Ansible variable names, dotted for nested
mappings (`k3s_system_reserved.cpu`). Secrets are refused: they belong in the vault.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from remediator.cluster import inventory as inv

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_SECRET = re.compile(r"(token|authkey|password|passwd|secret|private_key)", re.IGNORECASE)


class ConfigError(inv.InventoryError):
    """A refused read or edit; the file is left as it was."""


@dataclass(frozen=True)
class Target:
    """Where a group's variables are: the file and the path of keys to the mapping."""

    path: Path
    keys: tuple[str, ...]


def parse_key(key: str) -> tuple[str, ...]:
    """`a.b.c` as ("a", "b", "c"), each part an Ansible variable name."""
    parts = tuple(key.split("."))
    for part in parts:
        if not _NAME.fullmatch(part):
            raise ConfigError(f"{key!r} is not a variable name (letters, digits, _; dots nest)")
    if _SECRET.search(parts[0]):
        raise ConfigError(f"{parts[0]!r} looks like a secret: keep it in an ansible-vault file, "
                          "not in the group variables")
    return parts


def parse_value(text: str) -> Any:
    """A value as YAML reads it (`4` is a number, `true` a boolean, `[a, b]` a list)."""
    if "{{" in text or "{%" in text:
        raise ConfigError("templates ({{ }}, {% %}) are not set from the command line; "
                          "edit the file")
    try:
        value = _yaml().load(text)
    except YAMLError as error:
        raise ConfigError(f"{text!r} is not a YAML value: {error}".splitlines()[0]) from None
    if value is None and text.strip() not in ("null", "~", ""):
        raise ConfigError(f"{text!r} is not a value")
    return value


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def target(inventory: Path, group: str) -> Target:
    """group_vars/<group>.yml next to the inventory if present, else the inventory's vars."""
    if not _NAME.fullmatch(group):
        raise ConfigError(f"{group!r} is not a group name")
    separate = inventory.parent / "group_vars" / f"{group}.yml"
    if separate.is_file():
        return Target(separate, ())
    return Target(inventory, ("vars",))


def _load(text: str) -> tuple[YAML, Any]:
    yaml = _yaml()
    yaml.explicit_start = text.lstrip().startswith("---")
    try:
        data = yaml.load(text)
    except YAMLError as error:
        raise ConfigError(f"not valid YAML: {error}".splitlines()[0]) from None
    return yaml, data


def _group_vars(data: Any, group: str, where: Target, create: bool) -> CommentedMap:
    if not where.keys:  # a group_vars file: the whole document
        if data is None:
            data = CommentedMap()
        if not isinstance(data, CommentedMap):
            raise ConfigError(f"{where.path} is not a mapping of variables")
        return data
    if not isinstance(data, CommentedMap) or not isinstance(data.get("all"), CommentedMap):
        raise ConfigError("the inventory has no `all` group")
    for name, found in inv.groups(data["all"]):
        if name == group:
            variables = found.get("vars")
            if variables is None and create:
                variables = CommentedMap()
                found.insert(0, "vars", variables)
            if variables is None:
                return CommentedMap()
            if not isinstance(variables, CommentedMap):
                raise ConfigError(f"the vars of group {group!r} are not a mapping")
            return variables
    raise ConfigError(f"the inventory has no group {group!r}")


def get_value(text: str, group: str, key: str, where: Target) -> Any:
    """The value of `key` in `group`'s variables (a ConfigError if unset)."""
    parts = parse_key(key)
    _, data = _load(text)
    node: Any = _group_vars(data, group, where, create=False)
    for depth, part in enumerate(parts):
        if not isinstance(node, CommentedMap) or part not in node:
            raise ConfigError(f"{'.'.join(parts[:depth + 1])} is not set for group {group!r}")
        node = node[part]
    return node


def set_value_text(text: str, group: str, key: str, value: Any, where: Target) -> str:
    """`text` with `key` of `group`'s variables set to `value`; all else as written."""
    parts = parse_key(key)
    yaml, data = _load(text)
    if data is None and not where.keys:
        data = CommentedMap()
    node = _group_vars(data, group, where, create=True)
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = CommentedMap()
        if not isinstance(child, CommentedMap):
            raise ConfigError(f"{'.'.join(parts[:depth + 1])} is not a mapping")
        node = child
    node[parts[-1]] = _commented(value)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _commented(value: Any) -> Any:
    if isinstance(value, list) and not isinstance(value, CommentedSeq):
        return CommentedSeq(value)
    return value


def render(value: Any) -> str:
    """A value as it would be written in YAML (scalars bare, collections as a block)."""
    if isinstance(value, CommentedMap | CommentedSeq | dict | list):
        out = io.StringIO()
        _yaml().dump(value, out)
        return out.getvalue().rstrip("\n")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def get(inventory: Path, group: str, key: str) -> Any:
    where = target(inventory, group)
    return get_value(inv.read_inventory(where.path), group, key, where)


def set_(inventory: Path, group: str, key: str, value: Any) -> Path:
    """Set the variable and write the file atomically; returns the file written."""
    where = target(inventory, group)
    text = inv.read_inventory(where.path)
    inv.write_atomically(where.path, set_value_text(text, group, key, value, where))
    return where.path
