"""The options every on-call verb takes: where the service is (`--server`, its token and
CA) or, for break-glass, where its database is (`--database-url`, `--config`).

See `remediator.cli.remote` for which one wins; docs/cli.md for on-call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from remediator.cli.remote import Target

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="YAML settings file (break-glass)")]
DatabaseOption = Annotated[str | None, typer.Option(
    "--database-url", help="break-glass: work on this database directly, even with "
    "REMEDIATOR_SERVER set (default: REMEDIATOR_DATABASE_URL or sqlite:///remediator.db)")]
ServerOption = Annotated[str | None, typer.Option(
    "--server", help="the running service's URL (env REMEDIATOR_SERVER); without it the "
    "database is used directly (break-glass)")]
TokenFileOption = Annotated[Path | None, typer.Option(
    "--token-file", help="file holding the API token (env REMEDIATOR_TOKEN or "
    "REMEDIATOR_TOKEN_FILE); the read-only token reads, the webhook token acts")]
CaFileOption = Annotated[Path | None, typer.Option(
    "--ca-file", help="CA bundle to verify the server's TLS certificate (env "
    "REMEDIATOR_CA_FILE; default: the system's CAs)")]


def target(server: str | None, token_file: Path | None, ca_file: Path | None,
           database_url: str | None) -> Target:
    """The options as one value for `remote.choose`."""
    return Target(server=server, token_file=token_file, ca_file=ca_file,
                  database_url=database_url)
