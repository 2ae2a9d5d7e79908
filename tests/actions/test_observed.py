"""`Observed`: what a first attempt saw, as the job table keeps it and a retry compares it."""

from __future__ import annotations

import pytest

from remediator.model.actions import Observed, TargetChanged

SEEN = Observed(values={"revision": 2, "template": "abc"}, resource_version="41")


@pytest.mark.parametrize(("now", "changes"), [
    pytest.param(Observed(values={"revision": 2, "template": "abc"}, resource_version="57"),
                 [], id="only-the-resource-version-moved"),
    pytest.param(Observed(values={"revision": 3, "template": "def"}),
                 ["revision 2 -> 3", "template abc -> def"], id="a-new-revision"),
    pytest.param(Observed(values={"template": "abc"}), ["revision 2 -> None"], id="gone-field"),
])
def test_changes_name_what_moved(now: Observed, changes: list[str]) -> None:
    assert SEEN.changes(now) == changes


def test_the_refusal_says_what_moved_and_keeps_both_views() -> None:
    found = Observed(values={"revision": 3, "template": "abc"}, resource_version="60")
    with pytest.raises(TargetChanged) as raised:
        TargetChanged.unless_same("deployment apps-a/web", SEEN, found)
    assert raised.value.message == ("refused: target changed since the decision: revision "
                                    "2 -> 3 (deployment apps-a/web left as it is)")
    assert not raised.value.transient
    assert raised.value.detail == {"expected": SEEN.to_json(), "found": found.to_json()}
    TargetChanged.unless_same("deployment apps-a/web", None, found)  # a first attempt


@pytest.mark.parametrize("stored", [
    pytest.param(None, id="none"), pytest.param("x", id="text"),
    pytest.param({"values": [1]}, id="values-not-a-map"), pytest.param({}, id="empty"),
])
def test_a_malformed_payload_is_no_premise(stored: object) -> None:
    assert Observed.from_json(stored) is None


def test_it_survives_the_json_of_the_job_table() -> None:
    assert Observed.from_json(SEEN.to_json()) == SEEN
