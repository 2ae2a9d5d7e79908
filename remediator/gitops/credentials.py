"""Credentials for git transports, read from files and handed to libgit2 in callbacks.

A token (HTTPS, as the password) or an SSH private key is read from its file at
each proposal (rotated Secrets work without a restart) and lives only in this
object: never in the remote URL stored in the cache's config, never in argv or
the environment, and `explain` scrubs it from any error text. SSH host keys
must be in the known_hosts file (libgit2 checks `<homedir>/.ssh/known_hosts`,
set to a directory under the state dir); an unknown host is refused.
"""

from __future__ import annotations

from pathlib import Path

import pygit2
from pygit2.enums import CredentialType


class GitFailure(Exception):
    """A git step failed; the message is safe to show (no credential)."""


def read_secret(path: Path | None, what: str) -> str | None:
    """The stripped contents of a secret file, or None when no file is configured."""
    if path is None:
        return None
    try:
        return path.read_text().strip() or None
    except OSError as exc:
        raise GitFailure(f"cannot read the {what} file {path}: {exc.strerror}") from None


class Callbacks(pygit2.RemoteCallbacks):
    """Credentials, host-key checks and push rejections for one proposal."""

    def __init__(self, *, token: str | None, username: str, ssh_key: Path | None) -> None:
        super().__init__()
        self._token = token
        self._username = username
        self._ssh_key = ssh_key
        self._tries = 0
        self.rejections: list[tuple[str, str]] = []

    def credentials(self, url: str, username_from_url: str | None,
                    allowed_types: CredentialType) -> pygit2.Keypair | pygit2.UserPass:
        """Answer libgit2's request once; a second request means the first was refused."""
        self._tries += 1
        if self._tries > 1:
            raise GitFailure("authentication failed (credentials refused)")
        if allowed_types & CredentialType.SSH_KEY and self._ssh_key is not None:
            return pygit2.Keypair(username_from_url or "git", None, str(self._ssh_key), "")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT and self._token is not None:
            return pygit2.UserPass(self._username, self._token)
        raise GitFailure("authentication required and no usable credential is configured")

    def start(self) -> Callbacks:
        """Ready for the next network operation (each may ask for credentials once)."""
        self._tries = 0
        self.rejections.clear()
        return self

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        """Accept only what TLS verification or known_hosts accepted."""
        if not valid:
            raise GitFailure(f"host key or certificate of {host.decode(errors='replace')} "
                             "is not trusted")
        return True

    def push_update_reference(self, refname: str, message: str | None) -> None:
        """Record a ref the remote refused."""
        if message:
            self.rejections.append((refname, message))

    def explain(self, exc: BaseException) -> str:
        """One line for the failure, with the token scrubbed out."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        if self._token:
            text = text.replace(self._token, "***")
        return text
