"""What of a playbook run is kept (tail, failure messages, stats), with secrets blanked."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from remediator.evidence.detectors import detectors
from remediator.evidence.redact import redact_text

_SECRET_PAIR = re.compile(
    r"(?i)(\b[\w-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)[\w-]*"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)")


class Redactor:
    """Blanks out known secret values and every secret shape `evidence.redact` knows.

    That is vault blobs, `password=`-like pairs, CLI flags, tokens and private
    keys, the same redaction as the evidence kept for Kubernetes actions.
    """

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 4}))
        detectors()  # loaded now (about a second), not in the run's first event

    def __call__(self, text: str) -> str:
        return redact_text(text, known=self._secrets)


def secret_like(extravars: Mapping[str, Any]) -> list[str]:
    """Values of extravars whose name says they are secret."""
    found: list[str] = []
    for key, value in extravars.items():
        if isinstance(value, str) and _SECRET_PAIR.search(f"{key}=x"):
            found.append(value)
    return found


def redact_data(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): redact_data(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, redact) for v in value]
    return value
