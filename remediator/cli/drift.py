"""`remediator drift`: live changes on GitOps-managed targets that git does not hold yet.

Reads the service's database directly (like `pause`), so it works while
the service runs and shows what every replica did. A table by default,
`--json` for scripts; the exit code is 0 either way (drift is a to-do,
not an error; RemediatorDriftUnresolved alerts on it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from remediator.cli.store import load_settings, open_database
from remediator.cli.terminal import out
from remediator.model.clock import utcnow

ConfigOption = Annotated[Path | None, typer.Option("--config", help="YAML settings file")]
DatabaseOption = Annotated[str | None, typer.Option(
    "--database-url", help="defaults to REMEDIATOR_DATABASE_URL or sqlite:///remediator.db")]


def drift(as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts")] = False,
          config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Changes remediator made on Argo CD/Flux-managed targets that git does not hold."""
    from remediator.store.drift_store import drift_report

    settings = load_settings(config, database_url=database_url)
    now = utcnow()
    items = [item.to_json(now) for item in drift_report(open_database(settings), now=now)]
    if as_json:
        typer.echo(json.dumps({"items": items,
                               "open": sum(1 for i in items if not i["reverted"])}, indent=2))
        return
    _table(items)


def _table(items: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not items:
        out.print("no drift: every change on a GitOps-managed target is in git",
                  markup=False, highlight=False)
        return
    table = Table(title="drift (live, not in git)")
    for column in ("remediation", "age", "action", "target", "managed by", "pull request",
                   "state"):
        table.add_column(column, overflow="fold")
    for item in items:
        cells = (item["remediation_id"][:8], _age(item["age_seconds"]),
                 item["action"].removeprefix("kubernetes."), item["target"],
                 f"{item['controller']} {item['app']}", item["pr_url"] or "-",
                 "reverted" if item["reverted"] else "live")
        table.add_row(*(escape(str(cell)) for cell in cells))
    out.print(table)


def _age(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"
