"""`remediator report effectiveness`: did the rules' actions help, from the audit log.

Reads the service's database directly (break-glass, like `remediator audit`
without `--server`): no running service and no Prometheus needed. Prints a
table per rule and action, or `--json`, or writes `--html FILE`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from remediator.cli.options import ConfigOption, DatabaseOption


def effectiveness_command(
    since: Annotated[str, typer.Option(help="how far back to look, e.g. 30d")] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    html: Annotated[Path | None, typer.Option(
        "--html", dir_okay=False, help="write a self-contained HTML report to this file")] = None,
    config: ConfigOption = None, database_url: DatabaseOption = None,
) -> None:
    """Per rule and action: executed, verified, time to resolve against the alerts nobody
    acted on, how often the alert came back, and the targets touched most."""
    from remediator.cli.store import audit_reads, open_database, store_settings
    from remediator.model.clock import utcnow
    from remediator.model.durations import parse_duration
    from remediator.report.effectiveness import Entry, effectiveness
    from remediator.report.effectiveness_render import html_report, table

    try:
        span = parse_duration(since)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--since") from None
    if span <= timedelta(0):
        raise typer.BadParameter("must be longer than 0s", param_hint="--since")
    until = utcnow()
    reads = audit_reads(open_database(store_settings(config, database_url)))
    rows = reads.between(until - span, until)
    result = effectiveness(map(Entry.of, rows), since=until - span, until=until)
    if html is not None:
        try:
            html.write_text(html_report(result), encoding="utf-8")
        except OSError as error:
            typer.echo(f"error: cannot write {html}: {error.strerror}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"wrote {html}")
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    elif html is None:
        from rich.console import Console

        Console().print(table(result))
