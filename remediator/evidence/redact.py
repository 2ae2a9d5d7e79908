"""Blank out secrets in text we keep: logs, events, termination messages, play output.

Whatever a failing container printed, an event said or a diagnostic play
reported is stored with the remediation and shown in the API, the page and
the CLI; a secret there is leaked to every reader. Two sources of spans:
detect-secrets' provider detectors (`detectors.py`, kept current upstream)
and our positional patterns (`patterns.py`: assignments, CLI flags, headers,
URLs, private key bodies). Their union is blanked in one pass, so the result
does not depend on the order of patterns and redacting twice changes nothing.

Redact whole texts before splitting them into lines or cutting them to a
size: a private key spans lines, and a cut can leave half a token that no
pattern recognises any more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from remediator.evidence import detectors, patterns

REDACTED = "<redacted>"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MAX_PASSES = 5


def redact_text(text: str, *, known: Iterable[str] = ()) -> str:
    """`text` with every secret found (and every `known` value) blanked, ANSI codes dropped.

    Blanking can make a new match (`...130AUTH x` has no word boundary before
    `AUTH` until the token before it is blanked), so a text that changed is
    redacted again until it does not: a second call never changes anything.
    """
    known = tuple(known)
    text = _ANSI.sub("", text)
    for _ in range(_MAX_PASSES):
        redacted = _one_pass(text, known)
        if redacted == text:
            break
        text = redacted
    return text


def _one_pass(text: str, known: tuple[str, ...]) -> str:
    found = [*patterns.spans(text), *detectors.spans(text), *_known(text, known)]
    if not found:
        return text
    out, at = [], 0
    for start, end in _merged(found):
        out.append(text[at:start])
        out.append(REDACTED)
        at = end
    out.append(text[at:])
    return "".join(out)


def redact(text: str, *, limit: int = 500) -> str:
    """One message, secrets blanked, at most `limit` characters (cut after redacting)."""
    return _cut(redact_text(text), limit)


def redact_lines(text: str, *, last: int, limit: int = 500) -> list[str]:
    """The last `last` lines of a log, redacted as a whole first (keys span lines)."""
    return [_cut(line, limit) for line in redact_text(text).splitlines()[-last:]]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _known(text: str, values: Iterable[str]) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for value in values:
        if len(value) < 4:
            continue  # too short to blank without blanking ordinary words
        found.extend((m.start(), m.end()) for m in re.finditer(re.escape(value), text))
    return found


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans as one, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
