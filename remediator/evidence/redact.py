"""Blank out secret-looking text in logs and event messages before they are stored.

The same patterns as the Ansible runner adapter's `Redactor`
(`playbook_runner.py`), kept here because importing that module loads
ansible-runner, which a pod snapshot should not pay for.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"
_SECRET_PAIR = re.compile(
    r"(?i)(\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)[\w-]*"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def redact(text: str, *, limit: int = 500) -> str:
    """One line or message, secrets blanked, control sequences dropped, at most `limit` chars."""
    text = _ANSI.sub("", text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
