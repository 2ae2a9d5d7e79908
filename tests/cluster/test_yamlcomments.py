"""The comment moves on their own: lines below an entry follow the new last entry."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML

from remediator.cluster import yamlcomments as comments


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(text: str) -> Any:
    return _yaml().load(text)


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def test_lines_below_the_last_entry_move_to_an_appended_one() -> None:
    data = _load("hosts:\n  a:\n    ip: 1  # first\n  # the next group\nother: 2\n")
    hosts = data["hosts"]
    token, below = comments.take_below(hosts["a"])
    assert below == "  # the next group\n"
    hosts["b"] = _load("ip: 2\n")
    comments.give_below(hosts["b"], token, below)
    assert _dump(data) == ("hosts:\n  a:\n    ip: 1  # first\n  b:\n    ip: 2\n"
                           "  # the next group\nother: 2\n")


def test_the_comment_above_an_entry_goes_with_it() -> None:
    data = _load("hosts:\n  a:\n    ip: 1\n  # about b\n  b:\n    ip: 2\n  c:\n    ip: 3\n")
    hosts = data["hosts"]
    comments.drop_comment_above_next(hosts["a"])
    del hosts["b"]
    assert _dump(data) == "hosts:\n  a:\n    ip: 1\n  c:\n    ip: 3\n"


def test_the_comment_above_the_first_entry_goes_with_it() -> None:
    data = _load("hosts:\n  # about a\n  a:\n    ip: 1\n  b:\n    ip: 2\n")
    comments.drop_comment_above_first(data, "hosts")
    del data["hosts"]["a"]
    assert _dump(data) == "hosts:\n  b:\n    ip: 2\n"


def test_an_end_of_line_comment_stays_and_nothing_moves() -> None:
    data = _load("hosts:\n  a:\n    ip: 1  # only this line's\n")
    token, below = comments.take_below(data["hosts"]["a"])
    assert (token, below) == (None, "")
    assert _dump(data) == "hosts:\n  a:\n    ip: 1  # only this line's\n"
