"""`pause`, `resume` and `breaker reset`: through the running service (`--server`), or,
break-glass, on its database directly.

Through the service, the operator entry names the token the service knows
(`webhook-token`, via `token`, with our address): the service decides who
acted, not the CLI. Break-glass, it names the local user (`cli:<user>`) and
says `via: break-glass`, so the log tells the two apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from remediator.cli.options import (
    CaFileOption,
    ConfigOption,
    DatabaseOption,
    ServerOption,
    TokenFileOption,
    target,
)
from remediator.cli.remote import Client, Target, break_glass_notice, choose
from remediator.cli.store import load_settings, open_database
from remediator.cli.terminal import out
from remediator.model.clock import utcnow

if TYPE_CHECKING:
    from remediator.operate.operator_log import Actor

BREAK_GLASS = "break-glass"
"""The `via` of an operator entry written by the CLI on the database directly."""

ReasonOption = Annotated[str, typer.Option(help="shown in the audit log")]


def break_glass_actor() -> Actor:
    """The local user, as the audit log names a break-glass operator (`cli:<user>`)."""
    from remediator.operate.operator_log import Actor

    return Actor(name=Actor.cli().name, via=BREAK_GLASS)


def register(app: typer.Typer, breaker_app: typer.Typer) -> None:
    """Add `pause` and `resume` to `app`, `reset` to `breaker_app`."""

    @breaker_app.command("reset")
    def breaker_reset(reason: ReasonOption = "", server: ServerOption = None,
                      token_file: TokenFileOption = None, ca_file: CaFileOption = None,
                      config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
        """Close the circuit breaker now (every replica sees it)."""
        control("breaker_reset", reason, target(server, token_file, ca_file, database_url),
                config)
        out.print("circuit breaker reset")

    @app.command()
    def pause(reason: ReasonOption = "paused via CLI", server: ServerOption = None,
              token_file: TokenFileOption = None, ca_file: CaFileOption = None,
              config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
        """Stop all remediation (decisions are still audited, as `paused`)."""
        control("pause", reason, target(server, token_file, ca_file, database_url), config)
        out.print("remediation paused")

    @app.command()
    def resume(reason: ReasonOption = "", server: ServerOption = None,
               token_file: TokenFileOption = None, ca_file: CaFileOption = None,
               config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
        """Resume remediation after `pause`."""
        control("resume", reason, target(server, token_file, ca_file, database_url), config)
        out.print("remediation resumed")


_PATHS = {"pause": "/api/v1/pause", "resume": "/api/v1/resume",
          "breaker_reset": "/api/v1/breaker/reset"}


def control(action: str, reason: str, where: Target, config: Path | None) -> None:
    """Flip one switch through the service, or break-glass on the database."""
    remote = choose(where)
    if remote is not None:
        with Client(remote) as client:
            client.post(_PATHS[action], {"reason": reason})
        return
    from remediator.operate import operator_log
    from remediator.store.operating import OperatorStore

    settings = load_settings(config, database_url=where.database_url)
    break_glass_notice(settings.database_url, acting=True)
    store = OperatorStore(open_database(settings))
    act = {"pause": operator_log.pause, "resume": operator_log.resume,
           "breaker_reset": operator_log.reset_breaker}[action]
    act(store, actor=break_glass_actor(), reason=reason, now=utcnow())
