"""Our own secret shapes, beside detect-secrets' provider tokens (`detectors.py`).

What a provider-token list cannot know: secrets by their *position* rather
than their shape (`password = "hunter 2"`, `--password x`, `mysql -pX`,
`redis AUTH x`, `Cookie: session=...`, a URL's password), private key bodies
across lines, and a few token formats newer than the detector release we pin.
Each pattern marks the secret as the named group `s`; `redact.py` blanks the
union of all spans at once, so patterns never see each other's output, and
a second pass changes nothing (`<redacted>` is matched as a value and put back).

Written to leave ordinary log lines alone (tests/evidence/corpus): a keyword
followed by prose (`failed to refresh token: connection refused`) is not an
assignment, `secretName:` and `--token-ttl` name things rather than hold them,
and `signal=9` is not `sig=`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator

Span = tuple[int, int]

_B64_LINE = r"[A-Za-z0-9+/=]"
_EOL = r"(?:\r?\n|\\r?\\n)"  # a real line break, or one escaped inside a JSON string

PEM = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?P<s>(?:(?!-----END).){0,65536}?)"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?=[^A-Za-z0-9+/=\s\\:,-])|\Z)", re.DOTALL)
"""A private key block, header to footer; a block cut short ends where base64 does."""

PEM_ORPHAN = re.compile(
    rf"(?P<s>(?:{_B64_LINE}{{40,}}{_EOL})+{_B64_LINE}*{_EOL}?)"
    r"(?=-----END (?:[A-Z0-9]+ )*PRIVATE KEY)")
"""The body of a key whose header was cut off (a log tail that starts mid-key)."""

PUTTY = re.compile(rf"Private-Lines:\s*\d+\s*{_EOL}(?P<s>(?:{_B64_LINE}+(?:{_EOL}|$))+)")

_LONG_KEYS = (r"password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key"
              r"|private[_-]?key|account[_-]?key|shared[_-]?access[_-]?key|credentials?"
              r"|session[_-]?id|sessionid|signature|client[_-]?key[_-]?data|private[_-]?mac"
              r"|connection[_-]?string")
_SHORT_KEYS = r"pwd|pw|pass|sig|auth"
_KEY = (rf"(?P<key>[\w.-]*(?:{_LONG_KEYS})[\w.-]*"
        rf"|(?:[\w.-]*[_.-])?(?:{_SHORT_KEYS}))")
_SHORT = re.compile(rf"(?i)(?:[\w.-]*[_.-])?(?:{_SHORT_KEYS})")
ASSIGNMENT = re.compile(
    rf"(?i)(?<![\w.-]){_KEY}[\"']?\]?[ \t]*(?P<op>:=|=>|[:=])[ \t]*"
    r"(?:\"(?P<dq>[^\"\r\n]*)\"|'(?P<sq>[^'\r\n]*)'|(?P<bare>[^\s\"',;&}\])]+))")
"""`key = value`, `key: value`, `"key": "value"`, `?key=value&`: the value is the secret."""

_NOT_HOLDING = re.compile(
    r"(?i)(?:name|names|ref|file|path|dir|count|len|length|ttl|type|kind|mode|tokens|expiry"
    r"|expires|expires_in|expiration|timeout|enabled|version|size|limit|policy|hint|_at"
    r"|source|provider|store|namespace|status|reason|url|uri|endpoint|method|header|scope)$")
"""Keys that name or describe a secret rather than hold it (`secretName`, `token_ttl`)."""
_KEYWORD_HINT = re.compile(r"pass|pw|secret|token|key|credential|session|sig|auth|mac|connection")

_CLI_KEYS = (r"[\w-]*(?:password|passwd|passphrase|token|secret|api-?key|credentials?"
             r"|access-key|secret-key|client-key)[\w-]*|pass|pwd")
CLI_FLAG = re.compile(
    rf"(?i)(?<![\w-])--?(?P<key>{_CLI_KEYS})(?:=|[ \t]+)"
    r"(?:\"(?P<dq>[^\"\r\n]*)\"|'(?P<sq>[^'\r\n]*)'|(?P<bare>[^\s\"']+))")
"""`--password x`, `--token=x`, `-pass x`: long options whose value is a secret."""

def _hinted(hints: str, regex: str) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """A pattern that can only match where one of `hints` (lower case) is in the text.

    `str.__contains__` is far cheaper than a regex scan: a log line without
    `mysql` never pays for the mysql pattern.
    """
    return tuple(hints.split()), re.compile(regex)


_ALWAYS = [
    # mysql, mysqldump, mysqladmin, mariadb: the password is glued to -p.
    _hinted("mysql mariadb", r"\b(?:mysql\w*|mariadb\w*)\b[^\n]*?[ \t]-p(?P<s>[^\s\"']+)"),
    _hinted("sshpass", r"\bsshpass\b[^\n]*?[ \t]-p[ \t]*[\"']?(?P<s>[^\s\"']+)"),
    _hinted("login", r"\blogin\b[^\n]*?[ \t]-p[ \t]+[\"']?(?P<s>[^\s\"']+)"),
    _hinted("redis-cli", r"\bredis-cli\b[^\n]*?[ \t]-a[ \t]+(?P<s>[^\s\"']+)"),
    _hinted("curl", r"\bcurl\b[^\n]*?[ \t](?:-u|--user)[ \t]+[^\s:\"']*:(?P<s>[^\s\"']+)"),
    _hinted("-pass", r"-pass(?:in|out)[ \t]+pass:(?P<s>[^\s\"']+)"),
    # Redis AUTH [user] password, as typed or as MONITOR prints it.
    _hinted("auth", r"\bAUTH[ \t]+(?P<s>(?!<redacted>)[^\s\"']+(?:[ \t]+[^\s\"']+)?)"),
    _hinted("auth", r"\"AUTH\"[ \t]+\"(?P<s>[^\"]+(?:\"[ \t]+\"[^\"]+)?)\""),
    _hinted("authorization",
            r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256|apikey)[ \t]+)?"
            r"(?P<s>(?:(?!-----)[^\"'\r\n])+)"),
    _hinted("cookie", r"(?i)\b(?:set-)?cookie[\"']?[ \t]*[:=][ \t]*[\"']?"
                      r"(?P<s>(?:(?!-----)[^\"'\r\n])+)"),
    _hinted("://", r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@\"']*:(?P<s>[^/\s@\"']+)@"),
    _hinted("$ansible_vault", r"(?P<s>\$ANSIBLE_VAULT;[^\s\"']*(?:\s+[0-9a-fA-F]+)*)"),
    # Webhook URLs: the path is the credential.
    _hinted("hooks.slack.com",
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[\w/-]+)"),
    _hinted("discord",
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/(?P<s>[\w-]+)"),
    _hinted("webhook.office.com",
            r"https://[\w.-]+\.webhook\.office\.com/webhookb2/(?P<s>[^\s\"'<>]+)"),
    _hinted("logic.azure.com",
            r"https://[\w.-]+\.logic\.azure\.com[^\s\"']*?[?&]sig=(?P<s>[^\s&\"']+)"),
    # Token formats by their prefix (some newer than the detect-secrets release).
    _hinted("github_pat_ ghp_ gho_ ghu_ ghs_ ghr_",
            r"\b(?P<s>github_pat_[A-Za-z0-9_]{22,}|gh[pousr]_[A-Za-z0-9]{30,})"),
    _hinted("glpat- gldt- glrt- glcbt- glptt- glft- glsoat- gloas-",
            r"\b(?P<s>gl(?:pat|dt|rt|cbt|ptt|ft|soat|oas)-[\w-]{20,})"),
    _hinted("aiza", r"\b(?P<s>AIza[0-9A-Za-z_-]{35})"),
    _hinted("ya29.", r"\b(?P<s>ya29\.[0-9A-Za-z_-]{20,})"),
    _hinted("hvs. hvb. hvr.", r"\b(?P<s>hv[sbr]\.[A-Za-z0-9_-]{24,})"),
    _hinted("dop_v1_ doo_v1_", r"\b(?P<s>do[po]_v1_[a-f0-9]{64})"),
    _hinted("hf_", r"\b(?P<s>hf_[A-Za-z0-9]{30,})"),
    _hinted("sk-", r"\b(?P<s>sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{32,})"),
    _hinted("k_live_ k_test_", r"\b(?P<s>[rs]k_(?:live|test)_[0-9a-zA-Z]{16,})"),
    _hinted("xox xapp-", r"\b(?P<s>xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"),
    _hinted("age-secret-key-", r"\b(?P<s>AGE-SECRET-KEY-1[0-9A-Z]{50,})"),
    _hinted("glsa_ glc_",
            r"\b(?P<s>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})"),
    _hinted("shpat_ shpca_ shppa_ shpss_", r"\b(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})"),
    _hinted("npm_ pypi-", r"\b(?P<s>npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{50,})"),
    _hinted("k10", r"\b(?P<s>K10[0-9a-f]{20,}::[\w-]+:[0-9a-f]{16,})"),
    _hinted("eyj", r"\b(?P<s>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"),
    _hinted("a3t akia asia abia acca",
            r"\b(?P<s>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16})\b"),
    _hinted("private-lines", PUTTY.pattern),
    _hinted("-----end", PEM_ORPHAN.pattern),
]
_BEARER = re.compile(r"(?i)\bbearer[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{8,})")
_BASIC = re.compile(r"(?i)\bbasic[ \t]+(?P<s>[A-Za-z0-9+/]{6,}={0,2})(?![\w+/=])")
_REDACTED = "<redacted>"


def spans(text: str) -> Iterator[Span]:
    """Every secret our patterns find in `text`."""
    lowered = text.lower()
    if "private key" in lowered:
        yield from (m.span("s") for m in PEM.finditer(text) if m.group("s"))
    for hints, pattern in _ALWAYS:
        if any(hint in lowered for hint in hints):
            yield from (m.span("s") for m in pattern.finditer(text) if m.group("s"))
    for start in _key_starts(text, lowered):
        yield from _value(ASSIGNMENT.match(text, start), text, _assigned)
        yield from _value(CLI_FLAG.match(text, start), text, _flagged)
    if "bearer" in lowered or "basic" in lowered:
        yield from _schemes(text)


def _key_starts(text: str, lowered: str) -> Iterator[int]:
    """Where each word holding a keyword starts: the keyword patterns are tried there only.

    Scanning for the keywords and anchoring the patterns at their words is
    what keeps an ordinary log cheap (a scan of the full patterns from every
    position costs ten times as much).
    """
    last = -1
    for hit in _KEYWORD_HINT.finditer(lowered):
        start = hit.start()
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
            start -= 1
        if start != last:
            last = start
            yield start


def _value(match: re.Match[str] | None, text: str,
           keep: Callable[[re.Match[str], str], bool]) -> Iterator[Span]:
    if match is None:
        return
    group = next(g for g in ("dq", "sq", "bare") if match.group(g) is not None)
    if match.group(group) and keep(match, text):
        yield match.span(group)


def _assigned(match: re.Match[str], text: str) -> bool:
    """Whether `key <op> value` holds a secret (and is not prose or a name)."""
    if _NOT_HOLDING.search(match.group("key")):
        return False
    value = match.group("bare")
    if value is None or match.group("op") != ":":
        return True
    if value == _REDACTED or not value.isalpha():
        return True  # digits or symbols: a credential, not a word
    if _SHORT.fullmatch(match.group("key")):
        return False  # `auth: enabled`: a short key with a word is a setting
    end = text.find("\n", match.end())
    rest = text[match.end():end if end >= 0 else None]
    return not rest.strip()  # `token: abc` ends its line; `token: connection refused` goes on


def _flagged(match: re.Match[str], text: str) -> bool:
    key = match.group("key").lower()
    return not (_NOT_HOLDING.search(key) or key.endswith(("stdin", "-file", "-path")))


def _schemes(text: str) -> Iterator[Span]:
    """`Bearer <token>` (not `bearer credentials`) and `Basic <base64 of user:pass>`."""
    for match in _BEARER.finditer(text):
        if not match.group("s").isalpha():
            yield match.span("s")
    for match in _BASIC.finditer(text):
        try:
            decoded = base64.b64decode(match.group("s") + "==", validate=False)
        except (binascii.Error, ValueError):
            continue
        if b":" in decoded:
            yield match.span("s")
