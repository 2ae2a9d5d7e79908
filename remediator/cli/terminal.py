"""Rich consoles made on first use.

Every `remediator` invocation imports the CLI modules, `serve` included,
which never prints through them; importing rich's console costs tens of
milliseconds of each start (issue 11). The methods the CLI uses are typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    def __init__(self, *, stderr: bool = False, highlight: bool = True) -> None:
        self._stderr = stderr
        self._highlight = highlight
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=self._highlight)
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
