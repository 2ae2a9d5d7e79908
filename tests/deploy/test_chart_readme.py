"""The documented `helm install` examples install: their values are read from the pages.

README.md and docs/deploying.md each show the command; it is taken from the
page's first shell block that runs `helm install`,
its `--set` arguments are turned into values the way Helm does (for the forms
the example uses; any other form fails here, so README cannot drift past what
this test understands), and the chart is rendered with exactly those values:
the schema must admit them and every object must be valid.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from .chart import CHART, NAMESPACE, RELEASE, REPO, render
from .test_chart import container
from .validation import validate

_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
_INTEGER = re.compile(r"^-?[1-9][0-9]*$|^0$")


PAGES = ["README.md", "docs/deploying.md"]


def readme_command(page: str = "README.md") -> list[str]:
    """The words of a page's `helm install` command, continuation lines joined."""
    text = (REPO / page).read_text(encoding="utf-8")
    for block in _BLOCK.findall(text):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if line.strip().startswith("helm install"):
                return shlex.split(line)
    raise AssertionError(f"{page} has no `helm install` example")


def typed(value: str) -> Any:
    """A `--set` scalar as Helm types it (strvals: bools, null, integers, else a string)."""
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    return int(value) if _INTEGER.match(value) else value


def set_value(values: dict[str, Any], assignment: str) -> None:
    """One `--set key.path=value` (a `{a,b}` value is a list), as Helm applies it."""
    key, sep, value = assignment.partition("=")
    assert sep and not re.search(r"[\[\]\\]", assignment), f"unsupported --set {assignment!r}"
    *parents, leaf = key.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    if value.startswith("{") and value.endswith("}"):
        node[leaf] = [typed(item) for item in value[1:-1].split(",") if item]
    else:
        node[leaf] = typed(value)


def parse(words: list[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """`helm install NAME CHART` flags -> (the release and namespace, the values)."""
    assert words[:2] == ["helm", "install"], words
    rest = words[2:]
    positional: list[str] = []
    where: dict[str, str] = {}
    values: dict[str, Any] = {}
    while rest:
        word = rest.pop(0)
        if word == "--set":
            set_value(values, rest.pop(0))
        elif word in ("-n", "--namespace"):
            where["namespace"] = rest.pop(0)
        elif word == "--create-namespace":
            pass
        else:
            assert not word.startswith("-"), f"README's helm install uses {word}: teach this test"
            positional.append(word)
    where["release"], where["chart"] = positional
    return where, values


def test_the_parser_types_values_as_helm_does() -> None:
    where, values = parse(shlex.split(
        "helm install r c -n ns --set a.b=x --set a.c=true --set n=3 --set 'l={p,q}'"))
    assert where == {"release": "r", "chart": "c", "namespace": "ns"}
    assert values == {"a": {"b": "x", "c": True}, "n": 3, "l": ["p", "q"]}
    with pytest.raises(AssertionError, match="unsupported"):
        parse(["helm", "install", "r", "c", "--set", "a[0]=x"])


@pytest.mark.parametrize("page", PAGES)
def test_the_documented_helm_install_renders_valid_objects(page: str) -> None:
    where, values = parse(readme_command(page))
    assert (REPO / where["chart"]).resolve() == CHART
    assert (where["release"], where["namespace"]) == (RELEASE, NAMESPACE)
    assert values["image"]["digest"].startswith("sha256:")

    rendered = render(values)  # the schema refuses what Helm would refuse

    for manifest in rendered:
        validate(manifest.body)
    assert container(rendered)["image"] == (
        f"{values['image']['repository']}@{values['image']['digest']}")
    roles = {r["metadata"]["namespace"] for r in rendered.of_kind("Role")}
    assert roles == set(values["rbac"]["namespaces"])
    assert rendered.of_kind("AlertmanagerConfig")
