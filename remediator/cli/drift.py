"""`remediator drift`: live changes on GitOps-managed targets that git does not hold yet.

With `--server` (or REMEDIATOR_SERVER) it asks the service
(`GET /api/v1/drift`); without, it reads the database directly
(break-glass), like the other on-call verbs. A table by default, `--json`
for scripts; the exit code is 0 either way (drift is a to-do, not an
error; RemediatorDriftUnresolved alerts on it).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from remediator.cli.options import (
    CaFileOption,
    ConfigOption,
    DatabaseOption,
    ServerOption,
    TokenFileOption,
    target,
)
from remediator.cli.remote import Client, choose
from remediator.cli.terminal import out


def drift(as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts")] = False,
          server: ServerOption = None, token_file: TokenFileOption = None,
          ca_file: CaFileOption = None, config: ConfigOption = None,
          database_url: DatabaseOption = None) -> None:
    """Changes remediator made on Argo CD/Flux-managed targets that git does not hold."""
    remote = choose(target(server, token_file, ca_file, database_url))
    if remote is not None:
        with Client(remote) as client:
            report: dict[str, Any] = client.get("/api/v1/drift")
    else:
        report = _read(config, database_url)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _table(list(report.get("items") or []))


def _read(config: Any, database_url: str | None) -> dict[str, Any]:
    """Break-glass: the report from the database itself."""
    from remediator.cli.store import load_settings, open_database
    from remediator.model.clock import utcnow
    from remediator.store.drift_store import drift_report

    now = utcnow()
    settings = load_settings(config, database_url=database_url)
    items = [item.to_json(now) for item in drift_report(open_database(settings), now=now)]
    return {"items": items, "open": sum(1 for i in items if not i["reverted"])}


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
