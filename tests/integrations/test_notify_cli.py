"""`remediator notify test CHANNEL`: one sample sent with the service's settings, and what
happened said in one line (the chat server's error code turned into what to do)."""

from __future__ import annotations

import httpx
import pytest
import respx
from typer.testing import CliRunner

from remediator.cli.commands import app
from tests.integrations.conftest import BOT_TOKEN, CHANNEL, MM_URL, write

runner = CliRunner()


@pytest.fixture
def slack_env(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    tmp = Path(str(tmp_path))
    monkeypatch.setenv("REMEDIATOR_SLACK_SIGNING_SECRET_FILE", write(tmp, "s", "secret"))
    monkeypatch.setenv("REMEDIATOR_SLACK_BOT_TOKEN_FILE", write(tmp, "b", BOT_TOKEN))
    monkeypatch.setenv("REMEDIATOR_SLACK_CHANNEL", CHANNEL)
    monkeypatch.setenv("REMEDIATOR_MATTERMOST_URL", MM_URL)
    monkeypatch.setenv("REMEDIATOR_MATTERMOST_TOKEN_FILE", write(tmp, "m", "mm"))
    monkeypatch.setenv("REMEDIATOR_MATTERMOST_BOT_TOKEN_FILE", write(tmp, "mb", "mmbot"))
    monkeypatch.setenv("REMEDIATOR_MATTERMOST_CHANNEL", "mmchannel")


@respx.mock
def test_slack_sample_is_posted_without_buttons(slack_env: None) -> None:
    route = respx.post("https://slack.com/api/chat.postMessage").respond(
        json={"ok": True, "channel": CHANNEL, "ts": "1.5"})
    result = runner.invoke(app, ["notify", "test", "slack"])
    assert result.exit_code == 0, result.output
    assert "slack: sent a sample approval request to channel C0APPROVALS (ts 1.5)" in (
        result.output)
    body = route.calls.last.request.content.decode()
    assert '"actions"' not in body and "notify test" in body


@respx.mock
def test_a_slack_error_says_what_to_do(slack_env: None) -> None:
    respx.post("https://slack.com/api/chat.postMessage").respond(
        json={"ok": False, "error": "not_in_channel"})
    result = runner.invoke(app, ["notify", "test", "slack"])
    assert result.exit_code == 1
    assert "chat.postMessage: not_in_channel" in result.output
    assert "invite the bot" in result.output
    assert BOT_TOKEN not in result.output


@respx.mock
def test_mattermost_down_is_said(slack_env: None) -> None:
    respx.post(f"{MM_URL}/api/v4/posts").mock(side_effect=httpx.ConnectError("refused"))
    result = runner.invoke(app, ["notify", "test", "mattermost"])
    assert result.exit_code == 1
    assert "mattermost: not sent: ConnectError: refused after 2 attempt(s)" in result.output


def test_an_unconfigured_or_unknown_channel_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_SIGNING_SECRET_FILE", "NOTIFY_WEBHOOK_URL"):
        monkeypatch.delenv(f"REMEDIATOR_{name}", raising=False)
    result = runner.invoke(app, ["notify", "test", "slack"])
    assert result.exit_code == 2
    assert "REMEDIATOR_SLACK_SIGNING_SECRET_FILE" in result.output
    assert runner.invoke(app, ["notify", "test", "pager"]).exit_code == 2
    assert "REMEDIATOR_NOTIFY_WEBHOOK_URL" in runner.invoke(
        app, ["notify", "test", "webhook"]).output
