"""Branch names for proposals, checked before git sees them.

The branch comes from a rule template and a remediation id, so it is checked
like any other untrusted value: git's own ref-name rules (`git check-ref-format`)
on a deliberately small alphabet, so no name can look like an option, a
revision expression (`@{`, `..`, `^`) or a path outside refs/heads/.
"""

from __future__ import annotations

import re

MAX_BRANCH_LENGTH = 200
_ALPHABET = re.compile(r"^[A-Za-z0-9._/-]+$")


def branch_problem(name: str) -> str | None:
    """Why `name` is not an acceptable branch name, or None when it is."""
    if not name or len(name) > MAX_BRANCH_LENGTH:
        return f"must be 1 to {MAX_BRANCH_LENGTH} characters"
    if not _ALPHABET.match(name):
        return "may hold only letters, digits, '.', '_', '-' and '/'"
    if name.startswith(("-", "/")) or name.endswith(("/", ".")):
        return "may not start with '-' or '/' nor end with '/' or '.'"
    if ".." in name or "//" in name:
        return "may not contain '..' or '//'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "no part may start with '.' or end with '.lock'"
    if name == "HEAD":
        return "may not be HEAD"
    return None


def check_branch(name: str) -> str:
    """`name` when it is an acceptable branch name; ValueError naming the rule otherwise."""
    problem = branch_problem(name)
    if problem is not None:
        raise ValueError(f"branch {name[:80]!r} {problem}")
    return name
