"""docs/reference/rules.md: every rule field, its type, default and description,
read from the rule file's JSON Schema (`rules.schema.rule_file_schema`)."""

from __future__ import annotations

import json
from typing import Any

from remediator.docs.tables import GENERATED, code, table
from remediator.rules.schema import DURATION_PATTERN

_INTRO = """\
# Rule reference

{generated}

A rule file is YAML with one key, `rules`, a list of rules. `remediator rules
check PATH` validates files (errors name file, line and field); the same schema
is published as [`docs/rules.schema.json`](../rules.schema.json), so an editor
with yaml-language-server checks a rule file as you type when its first line is

```yaml
# yaml-language-server: $schema=../docs/rules.schema.json
```

(a path relative to the rule file; `remediator rules schema` prints it). Types:

- *duration*: Prometheus-style (`30s`, `10m`, `1h30m`) or a number of seconds;
- *matcher*: Alertmanager matcher syntax, `name="v"`, `name!="v"`, `name=~"re"`,
  `name!~"re"` (regexes anchored; a missing label matches `""`);
- *template*: a literal, or `{{ labels.pod }}`, `{{ annotations.x | lower }}`:
  templates see only the alert's `labels` and `annotations`, and every value that
  names a Kubernetes object or host is validated before use.

How rules behave (guards, dry-runs, approvals, hints): [docs/rules.md](../rules.md).
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _link(name: str) -> str:
    return f"[{name}](#{name.lower()})"


def type_of(prop: dict[str, Any]) -> str:
    """A property's type for a human: `duration`, `list of matcher`, `[Limits](#limits)`."""
    if "$ref" in prop:
        return _link(_ref_name(prop["$ref"]))
    if "const" in prop:
        return code(json.dumps(prop["const"]))
    if "enum" in prop:
        return "one of " + ", ".join(code(str(value)) for value in prop["enum"])
    if "oneOf" in prop:
        return "action: " + ", ".join(type_of(choice) for choice in prop["oneOf"])
    if "anyOf" in prop:
        choices = [c for c in prop["anyOf"] if c.get("type") != "null"]
        if any(c.get("pattern") == DURATION_PATTERN for c in choices):
            return "duration"
        return " or ".join(type_of(choice) for choice in choices)
    kind = prop.get("type", "any")
    if kind == "array":
        return "list of " + type_of(prop.get("items", {})) + _bounds(prop)
    if kind == "object":
        return "map of string to " + type_of(prop.get("additionalProperties") or {})
    if "x-remediator-type" in prop:  # our own annotation: what the string holds
        return str(prop["x-remediator-type"])
    return str(kind) + _bounds(prop)


def _bounds(prop: dict[str, Any]) -> str:
    low = prop.get("minimum", prop.get("minItems"))
    high = prop.get("maximum", prop.get("maxItems"))
    if low is None and high is None:
        return ""
    return f" ({'' if low is None else low}..{'' if high is None else high})"


def _default(name: str, prop: dict[str, Any], required: list[str]) -> str:
    if name in required:
        return "required"
    if "default" not in prop:
        return ""
    value = prop["default"]
    return "unset" if value is None else code(json.dumps(value).strip('"'))


_TYPE = "which action this is"


def section(name: str, definition: dict[str, Any]) -> str:
    required = definition.get("required", [])
    properties = definition.get("properties", {})
    ordered = sorted(properties, key=lambda field: field != "type")  # the action type first
    rows = [(code(field), type_of(properties[field]), _default(field, properties[field], required),
             properties[field].get("description", _TYPE if field == "type" else ""))
            for field in ordered]
    text = f"## {name}\n\n"
    if definition.get("description"):
        text += " ".join(definition["description"].split()) + "\n\n"
    return text + table(["field", "type", "default", "description"], rows) + "\n"


def rules_page(schema: dict[str, Any]) -> str:
    defs = schema["$defs"]
    order = ["Rule", "Limits", "Verify", "Approval", "When", "OnlyIf", "Unless"]
    actions = [_ref_name(choice["$ref"])
               for choice in defs["Rule"]["properties"]["action"]["oneOf"]]
    parts = [_INTRO.replace("{generated}", GENERATED), section("RuleFile", schema)]
    parts += [section(name, defs[name]) for name in order]
    parts.append("# Action types\n\nThe `type` field chooses one; `escalate` steps take "
                 "the same forms.\n")
    parts += [section(name, defs[name]) for name in actions]
    rest = sorted(set(defs) - set(order) - set(actions))
    parts += [section(name, defs[name]) for name in rest]
    return "\n".join(parts)
