"""Fill a PromQL template with label values, escaped for where each one lands.

`verify.expr` is a template such as
`up{instance="{{ labels.instance }}", job=~"{{ labels.job }}"}`. A label
value is data and must stay data in every PromQL context it is placed in:
- inside a quoted string ("..." or '...'): escaped as a string literal;
- inside the string of a regex matcher (=~, !~): regex-escaped, then
  escaped as a string literal;
- inside a raw string (`...`), which has no escapes: refused when it holds
  the backtick, and regex-escaped after a regex operator;
- anywhere else (a bare number, say): only a plain number is accepted.
Anything else is a `TemplateError`; the caller then verifies the alert
itself instead of running a query a label could have changed. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from remediator.rules.templating import Template, TemplateError

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_REGEX_OPERATOR = re.compile(r"(?:=~|!~)\s*$")


@dataclass(frozen=True)
class _Context:
    quote: str  # '"', "'", "`" or "" (outside a string)
    regex: bool


def render_promql(template: Template, labels: Mapping[str, str],
                  annotations: Mapping[str, str]) -> str:
    """The expression with every placeholder escaped for its context."""
    source = template.source
    if "{%" in source or "{#" in source:
        raise TemplateError(f"template {source!r}: only {{{{ }}}} placeholders are "
                            "allowed in a PromQL expression")
    contexts = _contexts(source)
    out: list[str] = []
    position = 0
    for placeholder, context in zip(_PLACEHOLDER.finditer(source), contexts, strict=True):
        out.append(source[position:placeholder.start()])
        value = Template(placeholder.group()).render(labels, annotations)
        out.append(escape(value, context.quote, regex=context.regex))
        position = placeholder.end()
    out.append(source[position:])
    return "".join(out)


def escape(value: str, quote: str, *, regex: bool) -> str:
    """`value` as literal data inside a PromQL string opened by `quote`."""
    if regex:
        value = re.escape(value)
    if quote == "`":
        if "`" in value:
            raise TemplateError("a label value with a backtick cannot go in a raw string")
        return value
    if quote in ('"', "'"):
        return _string_escape(value, quote)
    if _NUMBER.fullmatch(value):
        return value
    raise TemplateError(f"label value {value[:40]!r} outside a string must be a number")


def _string_escape(value: str, quote: str) -> str:
    """Go/PromQL string escaping: backslash, the quote, and control characters."""
    out = []
    for char in value:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def _contexts(source: str) -> list[_Context]:
    """The context of each placeholder, from a scan of the template's text."""
    spans = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(source)]
    contexts: list[_Context] = []
    quote, regex, index = "", False, 0
    text_before: list[str] = []
    span_index = 0
    while index < len(source):
        if span_index < len(spans) and index >= spans[span_index][0]:
            if index > spans[span_index][0]:
                raise TemplateError("a placeholder may not follow a backslash")
            contexts.append(_Context(quote, regex and quote != ""))
            index = spans[span_index][1]
            span_index += 1
            continue
        char = source[index]
        if quote:
            if char == "\\" and quote != "`":
                index += 2
                continue
            if char == quote:
                quote, regex = "", False
        elif char in "\"'`":
            quote = char
            regex = bool(_REGEX_OPERATOR.search("".join(text_before)))
            text_before = []
        else:
            text_before.append(char)
        index += 1
    return contexts
