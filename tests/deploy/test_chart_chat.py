"""The chart's chat approvals: secrets from the user's Secret, mounted as files; the
rendered environment is what the service's settings accept (rendered by real Helm)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from remediator.app.chat import chat_problem
from remediator.app.settings import Settings

from .chart import CHART, NAMESPACE, render, render_error
from .test_chart import container, env, mounts, volumes
from .validation import validate

CHAT: dict[str, Any] = {
    "config": {"externalUrl": "https://remediator.example.org"},
    "chat": {"existingSecret": "remediator-chat",
             "slack": {"enabled": True, "channel": "C0APPROVALS",
                       "operators": ["U0ALICE", "bob@example.org"]},
             "mattermost": {"enabled": True, "url": "https://chat.example.org",
                            "channel": "abc123", "operators": ["carol"]}}}


WITH_INGRESS: dict[str, Any] = {
    **CHAT, "ingress": {"enabled": True, "host": "remediator.example.org"},
    "chat": {**CHAT["chat"], "ingress": {"enabled": True, "annotations": {"a": "b"}}}}


def test_the_chat_values_lint_and_render_valid_objects() -> None:
    result = helm.lint(str(CHART), WITH_INGRESS, strict=True, namespace=NAMESPACE,
                       kube_version="1.31.0")
    assert result["errors"] == []
    assert [m for m in result["messages"] if m["severity"] > 1] == []
    for manifest in render(WITH_INGRESS):
        validate(manifest.body)


def test_nothing_about_chat_is_rendered_by_default() -> None:
    rendered = render()
    assert "chat" not in volumes(rendered)
    assert not [name for name in env(rendered) if "SLACK" in name or "MATTERMOST" in name]


def test_both_integrations_mount_their_secrets_as_files() -> None:
    rendered = render(CHAT)
    volume = volumes(rendered)["chat"]["secret"]
    assert volume["secretName"] == "remediator-chat"
    assert volume["defaultMode"] == 0o440
    assert [item["key"] for item in volume["items"]] == [
        "slack-signing-secret", "slack-bot-token", "mattermost-token", "mattermost-bot-token"]
    assert mounts(rendered)["chat"] == "/etc/remediator/chat"
    found = env(rendered)
    assert found["REMEDIATOR_SLACK_SIGNING_SECRET_FILE"] == (
        "/etc/remediator/chat/slack-signing-secret")
    assert found["REMEDIATOR_SLACK_OPERATORS"] == "U0ALICE,bob@example.org"
    assert found["REMEDIATOR_MATTERMOST_TOKEN_FILE"] == "/etc/remediator/chat/mattermost-token"
    assert found["REMEDIATOR_EXTERNAL_URL"] == "https://remediator.example.org"
    assert not any("secretKeyRef" in str(item) for item in container(rendered)["env"])


def test_enabling_chat_without_its_secret_is_refused_by_name() -> None:
    assert "chat.existingSecret" in render_error(
        {"chat": {"slack": {"enabled": True, "channel": "C1", "operators": ["U1"]}}})


def test_the_service_accepts_the_rendered_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rendered = render(CHAT)
    for key in ("slack-signing-secret", "slack-bot-token", "mattermost-token",
                "mattermost-bot-token"):
        (tmp_path / key).write_text(f"{key}-value\n")
    for name in [n for n in os.environ if n.startswith("REMEDIATOR_")]:
        monkeypatch.delenv(name)
    for name, value in env(rendered).items():
        if name.startswith(("REMEDIATOR_SLACK", "REMEDIATOR_MATTERMOST",
                            "REMEDIATOR_EXTERNAL")):
            monkeypatch.setenv(name, value.replace("/etc/remediator/chat", str(tmp_path)))
    settings = Settings()
    assert settings.slack_secrets() == ("slack-signing-secret-value", "slack-bot-token-value")
    assert settings.mattermost_operators == ["carol"]
    assert chat_problem(settings) is None


def test_a_second_ingress_routes_only_the_chat_paths_without_the_consoles_auth() -> None:
    auth = {"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.org/oauth2/auth"}
    values = {**CHAT, "ingress": {"enabled": True, "host": "remediator.example.org",
                                  "className": "nginx", "annotations": auth,
                                  "tls": {"secretName": "remediator-tls"}},
              "chat": {**CHAT["chat"], "ingress": {"enabled": True}}}
    ingresses = {i["metadata"]["name"]: i for i in render(values).of_kind("Ingress")}
    chat = ingresses["remediator-chat"]
    assert "annotations" not in chat["metadata"]
    assert chat["spec"]["tls"] == ingresses["remediator"]["spec"]["tls"]
    [rule] = chat["spec"]["rules"]
    assert rule["host"] == "remediator.example.org"
    assert sorted((p["path"], p["pathType"]) for p in rule["http"]["paths"]) == [
        ("/integrations/mattermost/actions", "Exact"),
        ("/integrations/slack/interactions", "Exact")]
    assert ingresses["remediator"]["metadata"]["annotations"] == auth
    assert "remediator-chat" not in {i["metadata"]["name"] for i in render(
        {**values, "chat": {**CHAT["chat"], "ingress": {"enabled": False}}}
    ).of_kind("Ingress")}
