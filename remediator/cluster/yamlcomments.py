"""Comment lines that stay where a reader expects them when YAML entries come and go.

ruamel.yaml keeps the comment lines below an entry on the entry's deepest
last scalar (slot 2 of a mapping item, slot 0 of a sequence item), together
with that line's own end-of-line comment. Those lines usually introduce
what follows (the next group of an inventory, the next host), so when an
entry is appended after them or removed before them they must move to the
new last entry; and the comment lines right above an entry describe it, so
they go when it goes. The inventory edits (`cluster.inventory`) use these
moves; nothing here knows what an inventory is.

A *token* is ruamel's comment token; `below` is the text of the comment
lines below an entry's last line.
"""

from __future__ import annotations

import copy
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

Slot = tuple[Any, Any, int]
"""(container, key, position): where ruamel keeps a comment token."""


def take_below(entry: Any) -> tuple[Any, str]:
    """Detach the comment lines below `entry`'s last line; keep its end-of-line comment."""
    return _take_below_slots(_slots(entry))


def give_below(entry: Any, template: Any, below: str) -> None:
    """Attach comment lines below `entry`'s last line."""
    _give_below_slots(_slots(entry), template, below)


def take_below_key(mapping: CommentedMap, key: Any) -> tuple[Any, str]:
    """`take_below` for an item whose value holds no lines of its own (`hosts: {}`)."""
    return _take_below_slots([(mapping, key, 2)])


def give_below_key(mapping: CommentedMap, key: Any, template: Any, below: str) -> None:
    """`give_below` for an item whose value holds no lines of its own (`hosts: {}`)."""
    _give_below_slots([(mapping, key, 2)], template, below)


def drop_comment_above_next(entry: Any) -> None:
    """Drop the last comment lines below `entry`: those right above the entry after it."""
    for slot in _slots(entry):
        token = _get_token(slot)
        if token is None:
            continue
        eol, below = _split(token.value)
        kept = _own_comment_removed(below)
        if eol.strip():
            token.value = eol + kept
        elif kept:
            token.value = "\n" + kept
        else:
            _set_token(slot, None)
        return


def drop_comment_above_first(mapping: CommentedMap, key: Any) -> None:
    """Drop the comment lines right above the first item of `mapping[key]`."""
    tokens = _first_comments(mapping, key)
    if not tokens:
        return
    text = _own_comment_removed("".join(token.value for token in tokens))
    while tokens and "".join(token.value for token in tokens) != text:
        tokens.pop()


def give_above_first(mapping: CommentedMap, key: Any, template: Any, below: str) -> None:
    """Put comment lines before the first item of `mapping[key]` (after the `key:` line)."""
    token = copy.copy(template)
    token.value = below
    tokens = _first_comments(mapping, key)
    if tokens is not None:
        tokens.append(token)
        return
    shared = [token]
    mapping.ca.items.setdefault(key, [None, None, None, None])[3] = shared
    value = mapping.get(key)
    if isinstance(value, CommentedMap):
        value.ca.comment = [None, shared]


def _slots(node: Any) -> list[Slot]:
    chain: list[Slot] = []
    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        if isinstance(node, CommentedMap):
            key: Any = next(reversed(node))
            chain.append((node, key, 2))
        else:
            key = len(node) - 1
            chain.append((node, key, 0))
        child = node[key]
        if isinstance(child, CommentedMap | CommentedSeq) and child.fa.flow_style():
            break
        node = child
    return chain


def _get_token(slot: Slot) -> Any:
    container, key, position = slot
    item = container.ca.items.get(key)
    return item[position] if item and len(item) > position else None


def _set_token(slot: Slot, token: Any) -> None:
    container, key, position = slot
    item = container.ca.items.setdefault(key, [None, None, None, None])
    item[position] = token
    if not any(item):
        del container.ca.items[key]


def _split(value: str) -> tuple[str, str]:
    """A trailing comment's end-of-line part, and the lines below it."""
    newline = value.find("\n")
    if newline < 0:
        return value, ""
    return value[:newline + 1], value[newline + 1:]


def _take_below_slots(chain: list[Slot]) -> tuple[Any, str]:
    for slot in chain:
        token = _get_token(slot)
        if token is None:
            continue
        eol, below = _split(token.value)
        if not below:
            return None, ""
        if eol.strip():
            token.value = eol
        else:
            _set_token(slot, None)
        return token, below
    return None, ""


def _give_below_slots(chain: list[Slot], template: Any, below: str) -> None:
    if not below or not chain:
        return
    for slot in chain:
        token = _get_token(slot)
        if token is not None:
            token.value = _split(token.value)[0] + below
            return
    token = copy.copy(template)
    token.value = "\n" + below
    _set_token(chain[-1], token)


def _own_comment_removed(text: str) -> str:
    """`text` without its last comment lines (those right above the next key)."""
    lines = text.splitlines(keepends=True)
    while lines and lines[-1].lstrip().startswith("#"):
        lines.pop()
    return "".join(lines)


def _first_comments(mapping: CommentedMap, key: Any) -> list[Any] | None:
    item = mapping.ca.items.get(key)
    return item[3] if item and len(item) > 3 and item[3] else None
