"""K3s release names, validated before they reach a play (they become file and URL parts)."""

from __future__ import annotations

import re

_RELEASE = re.compile(r"v\d{1,3}\.\d{1,3}\.\d{1,3}(?:[+-][A-Za-z0-9.]{1,32})?")


class VersionError(ValueError):
    """Not a K3s release name."""


def k3s_version(value: str) -> str:
    """A K3s release tag such as `v1.32.1+k3s1` (the `v` may be omitted)."""
    candidate = value.strip()
    if candidate and not candidate.startswith("v"):
        candidate = "v" + candidate
    if not _RELEASE.fullmatch(candidate):
        raise VersionError(f"{value!r} is not a K3s release (like v1.32.1+k3s1)")
    return candidate
