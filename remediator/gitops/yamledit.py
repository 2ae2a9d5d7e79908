"""Change one scalar in a YAML file and nothing else, byte for byte.

ruamel.yaml's round-trip loader tells where each value is (line and column)
and keeps comments and order, but dumping a document again re-flows it
(indentation of sequences, line width, document markers, quoting), so a
one-field change would show as a rewritten file in review. Instead the new
scalar replaces exactly the old one's characters on its line (or one line is
inserted when the key is absent), in the same quoting style, and the result is
loaded again to check that the field now reads the new value and that the
document is otherwise equal to before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

Segment = str | tuple[str, str]
"""A mapping key, or (key, value) selecting the item of a list whose `key` is `value`."""

_PLAIN_END = re.compile(r"\s+#|\s*$")
_FLOW_PLAIN_END = re.compile(r"\s*[,}\]]|\s+#|\s*$")


class EditError(Exception):
    """The field cannot be changed in this file; the message names file and field."""


@dataclass(frozen=True)
class Located:
    """Where a field is: its parent mapping and key, or None when a parent is missing."""

    parent: Any
    key: str
    present: bool


def load_all(text: str, where: str) -> list[Any]:
    """Every document of a YAML stream, round-trip (positions kept); EditError when invalid."""
    try:
        return list(YAML(typ="rt").load_all(text))
    except YAMLError as exc:
        raise EditError(f"{where}: invalid YAML: {str(exc).splitlines()[0]}") from exc


def locate(doc: Any, path: Sequence[Segment]) -> Located | None:
    """Follow `path` in `doc`: None when an intermediate mapping or list item is missing."""
    node = doc
    for segment in path[:-1]:
        node = _step(node, segment)
        if node is None:
            return None
    last = path[-1]
    if not isinstance(last, str) or not isinstance(node, dict):
        return None
    return Located(node, last, last in node)


def _step(node: Any, segment: Segment) -> Any:
    if isinstance(segment, str):
        return node.get(segment) if isinstance(node, dict) else None
    key, value = segment
    if not isinstance(node, list):
        return None
    return next((item for item in node
                 if isinstance(item, dict) and item.get(key) == value), None)


def plain(node: Any) -> Any:
    """A round-trip node as plain Python (for comparing documents)."""
    return json.loads(json.dumps(node, default=str))


def set_scalar(text: str, doc_index: int, path: Sequence[Segment], value: int | str,
               where: str) -> str:
    """`text` with the field at `path` of document `doc_index` set to `value`."""
    docs = load_all(text, where)
    found = locate(docs[doc_index], path)
    if found is None:
        raise EditError(f"{where}: no {_dotted(path[:-1])} to set {path[-1]} in")
    lines = text.splitlines(keepends=True)
    if found.present:
        line, col = found.parent.lc.value(found.key)
        flow = bool(getattr(found.parent.fa, "flow_style", lambda: False)())
        lines[line] = _replace_scalar(lines[line], col, value, where, path, flow)
    else:
        lines.insert(*_new_line(found, value, where, path))
    result = "".join(lines)
    _verify(docs, load_all(result, where), doc_index, path, value, where)
    return result


def _replace_scalar(line: str, col: int, value: int | str, where: str,
                    path: Sequence[Segment], flow: bool) -> str:
    quote = line[col:col + 1]
    if quote in ("'", '"'):
        end = _closing_quote(line, col, quote)
    elif quote in ("|", ">", "{", "[", "&", "*", "!", "\n", ""):
        raise EditError(f"{where}: {_dotted(path)} is not a one-line scalar")
    else:
        match = (_FLOW_PLAIN_END if flow else _PLAIN_END).search(line, col)
        end = match.start() if match else len(line)
    if end < 0:
        raise EditError(f"{where}: {_dotted(path)} is a quoted scalar over several lines")
    return line[:col] + render(value, quote) + line[end:]


def _closing_quote(line: str, col: int, quote: str) -> int:
    index = col + 1
    while index < len(line):
        char = line[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and line[index + 1:index + 2] == "'":
                index += 2
                continue
            return index + 1
        index += 1
    return -1


def render(value: int | str, quote: str = "") -> str:
    """`value` as a YAML scalar in the given quoting style ('', "'" or '"')."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a number stays a number, even where a string was quoted
    text = str(value)
    if quote == "'":
        return "'" + text.replace("'", "''") + "'"
    if quote == '"' or not _plain_safe(text):
        return _double_quoted(text)
    return text


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar; characters YAML cannot print are escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif (code == 0x9 or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF
              or (0xE000 <= code <= 0xFFFD and code != 0xFEFF) or code >= 0x10000):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def _plain_safe(text: str) -> bool:
    try:
        loaded = YAML(typ="safe").load(f"k: {text}\n")
    except YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get("k") == text and "#" not in text


def _new_line(found: Located, value: int | str, where: str,
              path: Sequence[Segment]) -> tuple[int, str]:
    parent = found.parent
    if not parent or getattr(parent.fa, "flow_style", lambda: False)():
        raise EditError(f"{where}: cannot add {_dotted(path)} to an empty or flow mapping")
    line, col = parent.lc.key(next(iter(parent)))
    return line, " " * col + f"{found.key}: {render(value)}\n"


def _verify(before: list[Any], after: list[Any], doc_index: int, path: Sequence[Segment],
            value: int | str, where: str) -> None:
    expected = [plain(doc) for doc in before]
    located = locate(expected[doc_index], path)
    if located is None or len(after) != len(before):
        raise EditError(f"{where}: editing {_dotted(path)} changed the document's shape")
    located.parent[located.key] = value
    if [plain(doc) for doc in after] != expected:
        raise EditError(f"{where}: editing {_dotted(path)} would change more than that field")


def _dotted(path: Sequence[Segment]) -> str:
    return ".".join(s if isinstance(s, str) else f"[{s[0]}={s[1]}]" for s in path) or "(root)"
