"""The `remediator` command (`remediator.cli:main`, also `python -m remediator`).

The commands are a typer app (`remediator.cli.commands.app`). Two verbs skip typer's
dispatch, which builds a pydantic `TypeAdapter` per option: `serve`, whose
options come from `Settings` (`commands.serve_main`), and `audit`, the on-call
read, which does not even import typer when its options are plain
(`remediator.cli.audit`; issue 11: a CLI command in < 0.5 s).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer import Typer

    app: Typer

_COMPLETION = "_REMEDIATOR_COMPLETE"
"""Set by the shell completion script: typer answers."""


def main() -> None:
    try:
        _dispatch(sys.argv[1:])
    except Exception as error:
        if not _store_unavailable(error):
            raise
        from remediator.cli.terminal import err

        err.print(f"the database is unavailable: {error}")
        sys.exit(1)


def _dispatch(argv: list[str]) -> None:
    if argv[:1] == ["serve"]:
        from remediator.cli.commands import serve_main

        serve_main(argv[1:])
        return
    if argv[:1] == ["audit"] and _COMPLETION not in os.environ:
        from remediator.cli import audit

        options = audit.parse(argv[1:])
        if options is not None:
            # A read keeps what it allocates (mostly the modules it imports): the cyclic
            # GC's passes over them were ~10 % of it. `--follow` turns the GC back on.
            gc.disable()
            _as_typer_would(lambda: audit.show(options))
            return
    from remediator.cli.commands import app

    app(prog_name="remediator")


def _as_typer_would(command: Callable[[], None]) -> None:
    """Run `command` ending as typer's standalone mode ends one: a closed pipe
    (`remediator audit | head`) exits 1 quietly, Ctrl-C exits 130."""
    import errno

    try:
        command()
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        # Python's advice (signal module, "Note on SIGPIPE"): no flush error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _store_unavailable(error: Exception) -> bool:
    """Whether `error` is the store's `StoreUnavailable`, without importing the store.

    A command that never imported `remediator.store` (`--help`, `rules check`)
    cannot have raised it, and should not pay for SQLAlchemy to find that out.
    """
    store = sys.modules.get("remediator.store")
    return store is not None and isinstance(error, store.StoreUnavailable)


if not TYPE_CHECKING:  # mypy reads `app` above; a module __getattr__ would hide typos
    def __getattr__(name: str) -> Any:
        """`from remediator.cli import app`, as before the typer app had its own module."""
        if name == "app":
            from remediator.cli.commands import app

            return app
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
