"""The chat approval integrations' settings (Slack, Mattermost), mixed into `Settings`.

Every secret comes from a file (a mounted Secret), like the other `*_FILE`
settings: signing secrets and bot tokens never sit in an environment
variable or a YAML file. An integration is configured when its secret file
is set; the rest it needs is then required, and `serve` refuses to start
naming what is missing (`chat_problem`) instead of answering 500 at 3 a.m.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split)]
"""A list that is comma-separated in environment variables and flags."""


class ChatSettings(BaseSettings):
    slack_signing_secret_file: Path | None = Field(
        default=None, description="file holding the Slack app's signing secret; set: "
        "POST /integrations/slack/interactions answers (else 404)")
    slack_bot_token_file: Path | None = Field(
        default=None, description="file holding the Slack bot token (xoxb-...) that posts "
        "and updates approval requests")
    slack_channel: str | None = Field(
        default=None, description="Slack channel id approval requests are posted to")
    slack_operators: CommaList = Field(
        default=[], description="Slack user ids (U...) or emails who may approve/decline")
    mattermost_url: str | None = Field(
        default=None, description="the Mattermost server (https://chat.example.com)")
    mattermost_token_file: Path | None = Field(
        default=None, description="file holding the token our buttons carry in their "
        "context (checked on every action); set: POST /integrations/mattermost/actions "
        "answers (else 404)")
    mattermost_bot_token_file: Path | None = Field(
        default=None, description="file holding the Mattermost bot's access token")
    mattermost_channel: str | None = Field(
        default=None, description="Mattermost channel id approval requests are posted to")
    mattermost_operators: CommaList = Field(
        default=[], description="Mattermost user ids or usernames who may approve/decline")
    chat_backlog: int = Field(
        default=500, ge=10, le=10000, description="chat messages waiting to be sent at most "
        "(the oldest is dropped, counted and logged beyond)")

    def slack_secrets(self) -> tuple[str, str] | None:
        """(signing secret, bot token), None when Slack is not configured."""
        secret = read_secret(self.slack_signing_secret_file, "slack_signing_secret_file")
        if secret is None:
            return None
        token = read_secret(self.slack_bot_token_file, "slack_bot_token_file")
        return secret, token or ""

    def mattermost_secrets(self) -> tuple[str, str] | None:
        """(action token, bot token), None when Mattermost is not configured."""
        token = read_secret(self.mattermost_token_file, "mattermost_token_file")
        if token is None:
            return None
        bot = read_secret(self.mattermost_bot_token_file, "mattermost_bot_token_file")
        return token, bot or ""

    def chat_problem(self) -> str | None:
        """What a configured integration lacks, in one line (None when nothing)."""
        wanted: list[tuple[str, object]] = []
        slack = self.slack_secrets()
        if slack is not None:
            wanted += [("REMEDIATOR_SLACK_BOT_TOKEN_FILE", slack[1]),
                       ("REMEDIATOR_SLACK_CHANNEL", self.slack_channel),
                       ("REMEDIATOR_SLACK_OPERATORS", self.slack_operators)]
        mattermost = self.mattermost_secrets()
        if mattermost is not None:
            wanted += [("REMEDIATOR_MATTERMOST_URL", self.mattermost_url),
                       ("REMEDIATOR_MATTERMOST_BOT_TOKEN_FILE", mattermost[1]),
                       ("REMEDIATOR_MATTERMOST_CHANNEL", self.mattermost_channel),
                       ("REMEDIATOR_MATTERMOST_OPERATORS", self.mattermost_operators)]
        missing = [name for name, value in wanted if not value]
        if not missing:
            return None
        return "chat approvals are configured but lack " + ", ".join(missing)


def read_secret(path: Path | None, setting: str) -> str | None:
    """The stripped content of a secret file; a clear error naming the setting if unreadable."""
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError as error:
        raise ValueError(f"{setting}: cannot read {path}: {error.strerror or error}") from None
