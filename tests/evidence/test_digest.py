"""The evidence summary over anything a snapshot row may hold: it never raises, it folds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.evidence.digest import MAX_FACT, age, fact_text, fold, summarize
from remediator.evidence.reports import REPORT, play_report, size_of
from remediator.store import evidence as store_evidence

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["pod", "node", "containers", "events", "previous_logs", "document",
                         "phase", "gathered_at", "state", "lastTermination", "count", "last",
                         "message", "name", "facts", "diagnosis", "findings", "errors",
                         "workload", "hpa", "rollout", "conditions", "type", "status"]) | st.text(
            max_size=5), inner, max_size=5),
    max_leaves=30)


@settings(max_examples=150, deadline=None)
@given(evidence=st.lists(json_values, max_size=5), hints=st.lists(json_values, max_size=3))
def test_any_stored_json_is_summarised_without_raising(evidence: list[Any],
                                                       hints: list[Any]) -> None:
    summary = summarize(evidence, hints, now=NOW)
    json.dumps(summary.model_dump())
    groups = fold(evidence)
    assert sum(g.count for g in groups) == len(evidence)


def snapshot(phase: str, elapsed: float, count: int = 3) -> dict[str, Any]:
    return {"phase": phase, "gathered_at": f"2026-01-01T11:5{int(elapsed) % 10}:00+00:00",
            "document": {"target": "pod/a/b", "elapsed_ms": elapsed,
                         "events": [{"type": "Warning", "reason": "BackOff", "count": count,
                                     "last": "2026-01-01T11:58:00Z", "message": "back-off"}]}}


def test_identical_snapshots_fold_but_a_changed_one_stays_apart() -> None:
    groups = fold([snapshot("before", 1), snapshot("failure", 2), snapshot("before", 3),
                   snapshot("failure", 4, count=9)])
    assert [(g.count, g.phases) for g in groups] == [(3, {"before": 2, "failure": 1}),
                                                     (1, {"failure": 1})]
    assert groups[0].first_at != groups[0].last_at


def test_events_fold_to_the_highest_count_and_newest_time() -> None:
    summary = summarize([snapshot("before", 1), snapshot("failure", 2, count=9)], [], now=NOW)
    [event] = summary.events
    assert (event.count, event.folded, event.age) == (9, 2, "2m")


@pytest.mark.parametrize(("when", "expected"), [
    pytest.param("2026-01-01T11:59:15Z", "45s", id="seconds"),
    pytest.param("2026-01-01T09:00:00Z", "3h", id="hours"),
    pytest.param("2025-12-30T12:00:00Z", "2d", id="days"),
    pytest.param("2026-01-01T12:00:01Z", None, id="future"),
    pytest.param("yesterday", None, id="unreadable"),
    pytest.param(None, None, id="missing"),
])
def test_age(when: str | None, expected: str | None) -> None:
    assert age(when, NOW) == expected


def test_facts_are_one_bounded_line() -> None:
    assert fact_text([{"name": "web", "exit_code": 137, "gone": None}, "x"]) == (
        "name=web exit_code=137; x")
    assert len(fact_text("y" * 1000)) == MAX_FACT


def test_reports_are_capped_without_losing_findings_and_redacted() -> None:
    journal = [f"line {i} password=hunter2-{i}" for i in range(200)]
    detail = {"status": "successful", "stats": {"diagnosis": {
        "worker-1": {"findings": ["disk / space used at or above 90%"],
                     "journal": {"k3s": journal}, "disk": [{"mount": "/", "x": "y" * 400}] * 20}}}}
    document = play_report(detail, target="playbook:diagnose/node.yml/worker-1", max_bytes=1024)
    assert document is not None
    assert size_of(document) <= 1024
    assert document["diagnosis"]["worker-1"]["findings"] == ["disk / space used at or above 90%"]
    assert "journal lines" in document["truncated"] and "hunter2" not in json.dumps(document)
    assert play_report({"stats": {}}, target="t", max_bytes=1024) is None
    assert play_report({"stats": "nonsense"}, target="t", max_bytes=1024) is None


def test_a_report_snapshot_is_read_as_findings_not_as_the_pod() -> None:
    assert store_evidence.REPORT == REPORT
    pod = snapshot("before", 1)
    report = {"phase": REPORT, "gathered_at": "2026-01-01T12:00:00+00:00",
              "document": {"target": "playbook:x.yml/w1",
                           "diagnosis": {"w1": {"findings": ["a", "b"]}, "w2": {}}}}
    summary = summarize([pod, report], [], now=NOW)
    assert summary.target == "pod/a/b" and summary.snapshots == 2
    assert [(f.host, f.findings) for f in summary.reports] == [("w1", ["a", "b"]), ("w2", [])]


def test_a_section_the_newest_snapshot_lacks_comes_from_the_one_before() -> None:
    seen = snapshot("before", 1)
    seen["document"]["containers"] = [{"name": "web", "restartCount": 5, "lastTermination": {
        "state": "terminated", "reason": "OOMKilled", "exitCode": 137}}]
    gone = snapshot("failure", 2)
    gone["document"]["errors"] = [{"section": "pod", "error": "get pods a/b: not found"}]
    summary = summarize([seen, gone], [], now=NOW)
    assert [(c.name, c.last_reason) for c in summary.containers] == [("web", "OOMKilled")]
    assert [(e.name, e.value) for e in summary.errors] == [("pod", "get pods a/b: not found")]
    assert summary.gathered_at == gone["gathered_at"]


def test_findings_are_halved_and_hosts_dropped_only_when_nothing_else_is_left() -> None:
    many = {f"worker-{i:03}": {"findings": [f"disk /mnt/{j} space used at or above 0%"
                                            for j in range(40)], "disk": [{"mount": "/"}]}
            for i in range(30)}
    document = play_report({"stats": {"diagnosis": many}}, target="t", max_bytes=1024)
    assert document is not None and size_of(document) <= 1024
    assert document["truncated"] == ["disk", "findings", "hosts"]
    assert "worker-000" in document["diagnosis"]
