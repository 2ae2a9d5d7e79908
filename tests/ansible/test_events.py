"""ansible-runner's events read without running a play: progress, failures, recap, tail."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from remediator.actions.ansible.events import EventCollector, recap
from remediator.actions.ansible.playbook import HostRecap, PlaybookEvent
from remediator.actions.ansible.processes import kill_run
from remediator.actions.ansible.redaction import Redactor, redact_data, secret_like
from tests.ansible.conftest import process_alive


def _collector(events: list[PlaybookEvent], *, tail_lines: int = 40,
               tail_chars: int = 4000) -> EventCollector:
    return EventCollector(redact=Redactor(["hunter2-secret"]), on_event=events.append,
                          tail_lines=tail_lines, tail_chars=tail_chars)


@pytest.mark.parametrize(("name", "data", "kind"), [
    pytest.param("playbook_on_play_start", {"name": "p"}, "play", id="play"),
    pytest.param("playbook_on_task_start", {"task": "t"}, "task", id="task"),
    pytest.param("runner_on_ok", {"res": {"changed": True}}, "changed", id="changed"),
    pytest.param("runner_on_ok", {"res": {}}, "ok", id="ok"),
    pytest.param("runner_on_failed", {"ignore_errors": True}, "ok", id="ignored-failure"),
    pytest.param("runner_on_failed", {}, "failed", id="failed"),
    pytest.param("runner_on_skipped", {}, "skipped", id="skipped"),
    pytest.param("runner_on_unreachable", {}, "unreachable", id="unreachable"),
])
def test_each_runner_event_becomes_one_kind_of_progress(name: str, data: dict[str, Any],
                                                         kind: str) -> None:
    events: list[PlaybookEvent] = []
    assert _collector(events).handle({"event": name, "event_data": data}) is False
    assert [event.kind for event in events] == [kind]


def test_a_failure_names_play_task_and_host_with_its_message_redacted() -> None:
    events: list[PlaybookEvent] = []
    collector = _collector(events)
    collector.handle({"event": "playbook_on_play_start", "event_data": {"name": "repair"}})
    collector.handle({"event": "runner_on_failed", "event_data": {
        "task": "restart", "host": "node-1", "res": {"msg": "token hunter2-secret refused"}}})
    [failure] = collector.failures
    assert (failure.host, failure.task, failure.unreachable) == ("node-1", "restart", False)
    assert "hunter2-secret" not in failure.message
    assert events[-1] == PlaybookEvent(kind="failed", play="repair", task="restart",
                                       host="node-1")


def test_the_tail_keeps_the_last_redacted_lines_within_its_size() -> None:
    collector = _collector([], tail_lines=3, tail_chars=20)
    for line in ("one", "two", "three", "hunter2-secret", ""):
        collector.handle({"stdout": line + "\r\n"})
    assert collector.tail() == ("three", "<redacted>")  # "two" is kept but over 20 chars


def test_the_stats_event_becomes_the_recap() -> None:
    collector = _collector([])
    stats = {"ok": {"a": 2}, "changed": {"a": 1}, "dark": {"b": 1}, "processed": {"a": 1, "b": 1}}
    collector.handle({"event": "playbook_on_stats", "event_data": stats})
    assert recap(collector.stats_event) == {"a": HostRecap(ok=2, changed=1),
                                            "b": HostRecap(unreachable=1)}
    assert recap(None) == {}


def test_secret_looking_extravars_are_redacted_from_kept_data() -> None:
    secrets = secret_like({"api_token": "tok-123456", "namespace": "apps", "count": 3})
    assert secrets == ["tok-123456"]
    kept = redact_data({"out": ["tok-123456 used"], "n": 1}, Redactor(secrets))
    assert "tok-123456" not in str(kept) and kept["n"] == 1


@pytest.mark.serial  # waits for the kill on the wall clock (flaked at 10 s beside a worker)
def test_kill_run_kills_the_processes_carrying_the_marker() -> None:
    marker = f"REMEDIATOR_PLAYBOOK_RUN=test-{os.getpid()}-{time.monotonic_ns()}"
    name, _, value = marker.partition("=")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             env={**os.environ, name: value}, start_new_session=True)
    try:
        kill_run(marker)
        assert child.wait(timeout=10) == -9
        assert not process_alive(child.pid)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
