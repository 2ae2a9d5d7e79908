"""detect-secrets' provider detectors, as spans of text to blank out.

detect-secrets (Yelp, on PyPI) keeps the shapes of provider tokens current:
GitHub, GitLab, Slack, Stripe, AWS, Azure, OpenAI, npm, PyPI, SendGrid,
Twilio, Discord, Telegram, JWTs and more. Its plugins answer "which values
look secret" for a line of source code; we need "where", to blank the whole
token in a log line, so this adapter runs each regex-based plugin's
`denylist` with `finditer`, and for each match:

- takes the secret alone when the regex captures it (AWS secret keys after
  their keyword), not a captured prefix (GitHub's `ghp`): the longest capture
  when it holds 16 characters or more, else the whole match;
- extends the span over the token characters that follow (the JWT regex
  stops before the signature) and trims separators it matched before it;
- keeps a JWT only when the plugin finds it formally valid (JSON header and
  payload), as detect-secrets itself does.

Plugins are loaded once, on first use (the imports take about a second and
`serve` loads them right after the Kubernetes client, in its loading thread).
Left out: `PrivateKeyDetector` (it finds
the `BEGIN ... PRIVATE KEY` header only: `patterns.py` blanks the body),
`BasicAuthDetector` (ours keeps the user and host of a URL, blanking only the
password), `IPPublicDetector` (an address is not a secret) and the keyword
detectors of IBM Cloud, Cloudant and SoftLayer (`cloudant_password = x`:
our assignment pattern blanks those, and theirs cost two thirds of the time). The keyword
and entropy plugins are not regex-based and are not used: our keyword
patterns cover assignments, and entropy alone blanks image digests and UIDs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from detect_secrets.plugins.base import RegexBasedDetector

Span = tuple[int, int]

LEFT_OUT = frozenset({"PrivateKeyDetector", "BasicAuthDetector", "IPPublicDetector",
                      "CloudantDetector", "IbmCloudIamDetector", "IbmCosHmacDetector",
                      "SoftlayerDetector"})
_TOKEN_CHARS = re.compile(r"[\w+/=.-]*")
_LEADING = " \t\"'=:,("
_MIN_CAPTURE = 16


@functools.cache
def detectors() -> tuple[RegexBasedDetector, ...]:
    """Every regex-based plugin detect-secrets ships, but those in `LEFT_OUT`."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    classes: Iterable[type[object]] = get_mapping_from_secret_type_to_class().values()
    found = [cls() for cls in classes
             if issubclass(cls, RegexBasedDetector) and cls.__name__ not in LEFT_OUT]
    return tuple(sorted(found, key=lambda plugin: type(plugin).__name__))


def spans(text: str) -> Iterator[Span]:
    """Where the detectors find secrets in `text` (possibly overlapping)."""
    for plugin in detectors():
        for regex in plugin.denylist:
            for match in regex.finditer(text):
                span = _secret_span(text, match)
                if span is not None and _accepted(plugin, text[span[0]:span[1]]):
                    yield span


def _secret_span(text: str, match: re.Match[str]) -> Span | None:
    captures = [i for i in range(1, (match.re.groups or 0) + 1) if match.group(i)]
    longest = max(captures, key=lambda i: len(match.group(i)), default=None)
    if longest is not None and len(match.group(longest)) >= _MIN_CAPTURE:
        start, end = match.span(longest)
    else:
        start, end = match.span()
    while start < end and text[start] in _LEADING:
        start += 1
    tail = _TOKEN_CHARS.match(text, end)
    if tail is not None:
        end = tail.end()
    while end > start and text[end - 1] == ".":
        end -= 1
    return (start, end) if end - start >= 8 else None


def _accepted(plugin: RegexBasedDetector, value: str) -> bool:
    from detect_secrets.plugins.jwt import JwtTokenDetector

    if isinstance(plugin, JwtTokenDetector):
        return bool(JwtTokenDetector.is_formally_valid(value))
    return True
