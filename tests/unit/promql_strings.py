"""A PromQL (Go) string lexer for tests: where a string literal ends, and its value."""

from __future__ import annotations

_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
           "\\": "\\", "'": "'", '"': '"'}


def lex_string(text: str, start: int) -> tuple[str, int]:
    """The value of the string literal opening at `text[start]`, and the index after it.

    Follows Go's strconv.UnquoteChar, which PromQL uses: an escaped quote is
    only valid for the quote that opened the string; raw strings have no escapes.
    """
    quote = text[start]
    index, out = start + 1, []
    while True:
        char = text[index]
        if char == quote:
            return "".join(out), index + 1
        if char == "\\" and quote != "`":
            code = text[index + 1]
            if code in ("'", '"') and code != quote:
                raise ValueError(f"invalid escape \\{code} in a {quote} string")
            if code in _SIMPLE:
                out.append(_SIMPLE[code])
                index += 2
            elif code == "x":
                out.append(chr(int(text[index + 2:index + 4], 16)))
                index += 4
            else:
                raise ValueError(f"invalid escape \\{code}")
            continue
        if char == "\n" and quote != "`":
            raise ValueError("newline in a string")
        out.append(char)
        index += 1
