"""Is a proposal's pull request still open? Asked of the forge that holds it.

The pull request is named by the web URL the forge gave when it was opened
(the audit's `proposal.pr_url`); its repository and number come from that
URL, the forge's kind and API base from the settings as for opening it. The
token is read from its file at each call (a rotated one is picked up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from remediator.gitops.forge import (
    ForgeError,
    PullState,
    forge_target,
    pull_request_of,
    pull_request_state,
)
from remediator.gitops.settings import GitopsSettings

if TYPE_CHECKING:
    import httpx


def pull_request_status(settings: GitopsSettings, pr_url: str,
                        client: httpx.Client) -> PullState | None:
    """open, merged or closed; None when no forge is configured or known for it.

    Raises `ForgeError` (one line, never the token) when the forge cannot say.
    """
    if settings.forge == "none":
        return None
    parsed = pull_request_of(pr_url)
    if parsed is None:
        raise ForgeError(f"cannot tell the pull request's number from {pr_url}")
    repository, number = parsed
    target = forge_target(repository, settings.forge, settings.forge_url)
    if target is None:
        return None
    token = _token(settings)
    return pull_request_state(client, target, token, number)


def _token(settings: GitopsSettings) -> str:
    path = settings.token_file
    if path is None:
        raise ForgeError("asking the forge about a pull request needs a token file (token_file)")
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise ForgeError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise ForgeError(f"the token file {path} is empty")
    return token
