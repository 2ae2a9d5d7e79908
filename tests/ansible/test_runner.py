"""The typed adapter over ansible-runner, with real runs against localhost."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remediator.actions.ansible.playbook import PlaybookEvent, PlaybookRequest
from remediator.actions.ansible.redaction import Redactor
from remediator.actions.ansible.runner import run_playbook, run_playbook_async
from tests.ansible.conftest import PROJECT, process_alive

Inventory = Callable[..., dict[str, Any]]


def request(playbook: str, inventory: dict[str, Any], **fields: Any) -> PlaybookRequest:
    return PlaybookRequest(project_dir=PROJECT, playbook=playbook, inventory=inventory, **fields)


@pytest.mark.parametrize(("text", "secrets", "expected"), [
    pytest.param("token is abcd1234", ["abcd1234"], "token is <redacted>", id="given-secret"),
    pytest.param("password=hunter22 ok", [], "password=<redacted> ok", id="password-pair"),
    pytest.param('"api_key": "xyz"', [], '"api_key": "<redacted>"', id="json-pair"),
    pytest.param("k3s_token: abc", [], "k3s_token: <redacted>", id="yaml-pair"),
    pytest.param("$ANSIBLE_VAULT;1.1;AES256 3132 6162", [], "<redacted>", id="vault-blob"),
    pytest.param("nothing to hide", ["abc"], "nothing to hide", id="short-secret-ignored"),
])
def test_redactor(text: str, secrets: list[str], expected: str) -> None:
    assert Redactor(secrets)(text) == expected


def test_request_refuses_bad_tags_and_timeouts() -> None:
    with pytest.raises(ValueError, match="tag"):
        PlaybookRequest(project_dir=PROJECT, playbook="ok.yml", tags=["a b"])
    with pytest.raises(ValueError, match="timeout"):
        PlaybookRequest(project_dir=PROJECT, playbook="ok.yml", timeout=0)


@pytest.mark.ansible
def test_success_reports_recap_stats_events_and_tail(tmp_path: Path,
                                                     inventory: Inventory) -> None:
    events: list[PlaybookEvent] = []
    result = run_playbook(
        request("ok.yml", inventory("node-a", "node-b", out_dir=str(tmp_path))),
        on_event=events.append, private_data_root=tmp_path / "runs")

    assert result.ok
    assert (result.status, result.rc) == ("successful", 0)
    assert set(result.recap) == {"node-a", "node-b"}
    assert result.recap["node-a"].to_json() == {"ok": 3, "changed": 1, "failed": 0,
                                                "unreachable": 0, "skipped": 0, "rescued": 0,
                                                "ignored": 0}
    assert result.stats == {"answer": 84}  # aggregated over both hosts
    assert result.duration > 0
    assert any("PLAY RECAP" in line for line in result.tail)
    kinds = [(event.kind, event.task) for event in events if event.host == "node-a"]
    assert kinds == [("ok", "Say hello"), ("changed", "Write a file"),
                     ("ok", "Publish a custom stat")]
    assert events[0].kind == "play" and events[0].play == "A play that succeeds"
    assert list((tmp_path / "runs").iterdir()) == []  # private data dir removed
    json.dumps(result.to_json())  # fit for the audit log


@pytest.mark.ansible
def test_failure_names_host_and_task(inventory: Inventory) -> None:
    result = run_playbook(request("fail.yml", inventory("node-a")))

    assert not result.ok
    assert result.status == "failed"
    assert result.rc == 2
    assert result.failed_hosts == ["node-a"]
    assert result.recap["node-a"].failed == 1
    [failure] = result.failures
    assert (failure.host, failure.task, failure.message) == (
        "node-a", "Fail on purpose", "broken on purpose")


@pytest.mark.ansible
def test_unreachable_host_is_a_failure(tmp_path: Path, inventory: Inventory) -> None:
    hosts = inventory("ghost", ansible_connection="ssh", ansible_host="127.0.0.1",
                      ansible_port=1, ansible_ssh_common_args="-o ConnectTimeout=2",
                      out_dir=str(tmp_path))
    result = run_playbook(request("ok.yml", hosts))

    assert result.status == "failed"
    assert result.recap["ghost"].unreachable == 1
    assert result.failures[0].unreachable


@pytest.mark.ansible
def test_timeout_kills_every_process_of_the_run(tmp_path: Path, inventory: Inventory) -> None:
    pid_file = tmp_path / "sleep.pid"
    # Long enough for ansible-playbook to start and reach the task on a loaded
    # machine (CI found 3 s too short); the task itself sleeps 300 s.
    timeout = 20
    started = time.monotonic()
    result = run_playbook(request("sleep.yml", inventory(pid_file=str(pid_file)),
                                  timeout=timeout),
                          private_data_root=tmp_path / "runs")

    assert result.status == "timeout"
    assert not result.ok
    assert time.monotonic() - started < timeout + 12
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(pid), "the task's process outlived the timeout"
    assert list((tmp_path / "runs").iterdir()) == []


@pytest.mark.ansible
@pytest.mark.parametrize("value", [
    pytest.param("x'; reboot; '", id="shell-quote"),
    pytest.param("$(reboot) `reboot` && reboot", id="shell-substitution"),
    pytest.param("{{ lookup('ansible.builtin.pipe', 'id') }}", id="jinja-lookup"),
    pytest.param("{% raw %}x{% endraw %} {{ 7 * 6 }}", id="jinja-blocks"),
    pytest.param("line1\nline2 \u00e9\u2603", id="newline-unicode"),
])
def test_extravars_arrive_as_literal_strings(tmp_path: Path, inventory: Inventory,
                                             value: str) -> None:
    out_file = tmp_path / "value.txt"
    result = run_playbook(request("echo_var.yml", inventory(),
                                  extravars={"label_value": value, "out_file": str(out_file),
                                             "PATH": "/nonexistent"}))

    assert result.ok, result.tail
    assert out_file.read_text(encoding="utf-8") == value
    # An extravar named like an environment variable stays a variable.
    assert Path(f"{out_file}.path").read_text() != "/nonexistent"


@pytest.mark.ansible
def test_check_mode_changes_nothing(tmp_path: Path, inventory: Inventory) -> None:
    result = run_playbook(request("ok.yml", inventory(out_dir=str(tmp_path)), check=True))

    assert result.ok
    assert result.recap["localhost"].changed == 1
    assert not (tmp_path / "localhost.txt").exists()


@pytest.mark.ansible
def test_secrets_are_not_kept(inventory: Inventory) -> None:
    result = run_playbook(request("leak.yml", inventory(),
                                  extravars={"k3s_token": "tok-9f8e7d6c5b4a",
                                             "db_pass": "pw-0123456789"},
                                  secrets=["pw-0123456789"]))

    assert result.ok
    kept = json.dumps(result.to_json())
    assert "tok-9f8e7d6c5b4a" not in kept
    assert "pw-0123456789" not in kept
    assert "$ANSIBLE_VAULT" not in kept
    assert "<redacted>" in kept


@pytest.mark.ansible
async def test_async_run_leaves_the_event_loop_free(tmp_path: Path,
                                                    inventory: Inventory) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    background = asyncio.create_task(ticker())
    try:
        result = await run_playbook_async(request("ok.yml", inventory(out_dir=str(tmp_path))))
    finally:
        background.cancel()
    assert result.ok
    assert ticks >= 10, "the event loop was blocked while the play ran"


@pytest.mark.ansible
async def test_cancelling_the_task_kills_the_run(tmp_path: Path, inventory: Inventory) -> None:
    pid_file = tmp_path / "sleep.pid"
    task = asyncio.create_task(run_playbook_async(
        request("sleep.yml", inventory(pid_file=str(pid_file)), timeout=120)))
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pid = int(pid_file.read_text())
    for _ in range(50):
        if not process_alive(pid):
            break
        await asyncio.sleep(0.1)
    assert not process_alive(pid)


@pytest.mark.ansible
def test_a_failing_event_callback_does_not_break_the_run(tmp_path: Path,
                                                         inventory: Inventory) -> None:
    def broken(event: PlaybookEvent) -> None:
        raise RuntimeError("display broke")

    result = run_playbook(request("ok.yml", inventory(out_dir=str(tmp_path))), on_event=broken)
    assert result.ok
