"""Rich consoles made on first use.

Every `remediator` invocation imports the CLI modules, `serve` included,
which never prints through them; importing rich's console costs tens of
milliseconds of each start (issue 11). The methods the CLI uses are typed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    def __init__(self, *, stderr: bool = False, highlight: bool = True) -> None:
        self._stderr = stderr
        self._highlight = highlight
        self._console: Console | None = None
        self._columns: str | None = None

    @property
    def console(self) -> Console:
        """Made again when COLUMNS changed: rich fixes a console's width from COLUMNS
        when it is made, and one process may run several commands (tests, a shell)."""
        columns = os.environ.get("COLUMNS")
        if self._console is None or columns != self._columns:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=self._highlight)
            self._columns = columns
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        self.console.print(*objects, **options)

    def print_json(self, json: str) -> None:
        self.console.print_json(json)

    @property
    def width(self) -> int:
        return self.console.width


out = LazyConsole()
"""Standard output of the `remediator` commands (one console: one width for all)."""
err = LazyConsole(stderr=True)
"""Standard error of the `remediator` commands."""


def wrap(line: str, width: int, *, hang: int = 2) -> str:
    """`line` wrapped at word boundaries to `width`, continuation lines indented `hang`
    more than the line's own indentation.

    Left to the terminal, a long line breaks at the last column, mid-word
    (issue 23: `show` at 80 columns). A word longer than the room is folded
    on its own lines, never glued to its neighbours; a URL is not broken at
    its hyphens. Plain text: the caller prints it without markup.
    """
    import textwrap

    indent = line[:len(line) - len(line.lstrip(" "))]
    if len(line) <= width or not line.strip():
        return line
    return textwrap.fill(line.strip(" "), width, initial_indent=indent,
                         subsequent_indent=indent + " " * hang, break_on_hyphens=False,
                         break_long_words=True, drop_whitespace=True)


def labelled(label: str, value: str, width: int, *, column: int = 11) -> str:
    """`label` and one long value (a URL): on one line when it fits, else the value
    alone on the next line, whole, so it can be copied; a terminal folds it only
    when it is itself wider than the screen."""
    if column + len(value) <= width:
        return f"{label:<{column}}{value}"
    return f"{label}\n{value}"
