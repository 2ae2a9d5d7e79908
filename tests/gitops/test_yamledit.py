"""One-field edits: any value round-trips, and only its line changes (byte level)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from remediator.gitops.yamledit import EditError, set_scalar
from tests.gitops.conftest import DEPLOYMENT

IMAGE = ("spec", "template", "spec", "containers", ("name", "app"), "image")
SIDECAR = ("spec", "template", "spec", "containers", ("name", "sidecar"), "image")
values = st.integers(min_value=-10**9, max_value=10**9) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40)


def loaded(text: str) -> list[object]:
    return list(YAML(typ="safe").load_all(text))


def one_line_changed(before: str, after: str) -> bool:
    old, new = before.encode().splitlines(True), after.encode().splitlines(True)
    return len(old) == len(new) and sum(a != b for a, b in zip(old, new, strict=True)) <= 1


@settings(max_examples=50, deadline=None)
@given(value=values, path=st.sampled_from([("spec", "replicas"), IMAGE, SIDECAR]))
def test_any_value_round_trips_on_its_own_line(value: int | str, path: tuple) -> None:
    after = set_scalar(DEPLOYMENT, 1, path, value, "deployment.yaml")

    assert one_line_changed(DEPLOYMENT, after)
    doc = loaded(after)[1]
    node = doc["spec"]["replicas"] if path[-1] == "replicas" else next(
        c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == path[4][1])["image"]
    assert node == value
    assert after.count("#") == DEPLOYMENT.count("#") + str(value).count("#")


def test_missing_key_is_added_as_one_line_with_the_mapping_indentation() -> None:
    after = set_scalar(DEPLOYMENT, 1, ("spec", "minReadySeconds"), 5, "d.yaml")

    added = [line for line in after.splitlines() if line not in DEPLOYMENT.splitlines()]
    assert added == ["  minReadySeconds: 5"]


@pytest.mark.parametrize(("text", "expected"), [
    ("spec: {replicas: 3, paused: false}  # flow\n",
     "spec: {replicas: 12, paused: false}  # flow\n"),
    ("spec: {paused: false, replicas: 3}\n", "spec: {paused: false, replicas: 12}\n"),
    ("spec:\n  replicas: '3'\n", "spec:\n  replicas: 12\n"),
])
def test_flow_mappings_and_quoted_numbers(text: str, expected: str) -> None:
    assert set_scalar(text, 0, ("spec", "replicas"), 12, "f.yaml") == expected


@pytest.mark.parametrize(("text", "path", "message"), [
    ("spec:\n  replicas: |\n    3\n", ("spec", "replicas"), "is not a one-line scalar"),
    ("kind: X\n", ("spec", "replicas"), "no spec to set replicas in"),
    ("spec: {}\n", ("spec", "replicas"), "cannot add spec.replicas to an empty or flow mapping"),
    ("spec:\n  replicas: [3\n", ("spec", "replicas"), "invalid YAML"),
])
def test_what_cannot_be_edited_in_place_is_refused(text: str, path: tuple, message: str) -> None:
    with pytest.raises(EditError, match=message):
        set_scalar(text, 0, path, 4, "f.yaml")
