"""Settings of the git side: credentials, forge, commit author, timeouts.

A plain pydantic model, so the service's `Settings` (app/settings.py) can hold
it as `gitops_*` fields (environment `REMEDIATOR_GITOPS_*`) and tests can build
one directly. Credentials are paths to files mounted from a Secret, read each
time a proposal is made (a rotated token is picked up without a restart) and
never copied anywhere else: not into the remote URL, logs, audit or errors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Forge = Literal["github", "gitlab", "gitea", "none"]

_AUTHOR = re.compile(r"^(?P<name>[^<>\n]+?)\s*<(?P<email>[^<>\s]+)>$")


class GitopsSettings(BaseModel):
    """Everything `Proposer` needs besides the state directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ssh_key_file: Path | None = Field(
        default=None, description="Private SSH key for ssh:// and scp-like repository URLs.")
    ssh_known_hosts_file: Path | None = Field(
        default=None, description="known_hosts checked for SSH hosts (required for SSH: "
        "an unknown host key is refused).")
    token_file: Path | None = Field(
        default=None, description="Token for HTTPS git (as the password) and the forge API.")
    git_username: str = Field(
        default="x-access-token", description="User name sent with the token over HTTPS.")
    forge: Forge | None = Field(
        default=None, description="github, gitlab, gitea (Forgejo too) or none; inferred from "
        "the host for github.com and gitlab.com; without one, branches are pushed only.")
    forge_url: str | None = Field(
        default=None, description="API base, e.g. https://gitea.example/api/v1 "
        "(default: from the forge and the repository's host).")
    author: str = Field(
        default="remediator <remediator@localhost>",
        description="Author and committer of proposal commits, 'Name <email>'.")
    timeout: float = Field(
        default=30.0, gt=0, description="Seconds for a forge API call and a git connection.")

    @field_validator("author")
    @classmethod
    def _author_form(cls, value: str) -> str:
        if not _AUTHOR.match(value):
            raise ValueError("author must read 'Name <email>'")
        return value

    def author_parts(self) -> tuple[str, str]:
        """The author's name and email."""
        match = _AUTHOR.match(self.author)
        assert match is not None  # checked by the validator
        return match["name"], match["email"]
