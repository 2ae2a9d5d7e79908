"""`remediator sessions list|revoke`: console sessions, read from and ended in the database.

Like `pause`, these work on the service's database directly, so they work
while the service runs and every replica sees the result at once: a
revoked session's next request is refused. A revocation is an audited
`operator` entry (`session_revoke`) with the CLI user as actor.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from remediator.cli.store import load_settings, open_database
from remediator.cli.terminal import err, out
from remediator.model.clock import utcnow

if TYPE_CHECKING:
    from remediator.store.sessions import SessionRecord

app = typer.Typer(help="Console sessions: list who is signed in, revoke a session.",
                  no_args_is_help=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="YAML settings file")]
DatabaseOption = Annotated[str | None, typer.Option(
    "--database-url", help="defaults to REMEDIATOR_DATABASE_URL or sqlite:///remediator.db")]


def _state(record: SessionRecord, now: datetime, idle_since: datetime) -> str:
    if record.revoked_at is not None:
        return "revoked"
    if now >= record.expires_at:
        return "expired"
    return "idle" if record.last_seen_at <= idle_since else "live"


@app.command("list")
def list_sessions(as_json: Annotated[bool, typer.Option("--json")] = False,
                  include_ended: Annotated[bool, typer.Option(
                      "--all", help="also sessions that ended in the last 7 days")] = False,
                  config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Console sessions newest first (live ones; `--all` for ended ones too)."""
    from remediator.operate import sessions as session_admin
    from remediator.store.operating import OperatorStore

    settings = load_settings(config, database_url=database_url)
    now = utcnow()
    idle_since = now - settings.session_idle_timeout
    found = session_admin.listing(OperatorStore(open_database(settings)), now=now,
                                  idle_since=idle_since, include_ended=include_ended)
    rows = [{"id": r.id, "actor": r.actor, "can_act": r.can_act,
             "state": _state(r, now, idle_since), "created_at": r.created_at.isoformat(),
             "last_seen_at": r.last_seen_at.isoformat(),
             "expires_at": r.expires_at.isoformat(),
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
             "revoked_by": r.revoked_by, "client": r.client, "user_agent": r.user_agent}
            for r in found]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    if not rows:
        out.print("no live sessions" if not include_ended else "no sessions")
        return
    from rich import box
    from rich.table import Table

    # 80 columns: the 12-character id (enough for `revoke`) never wraps.
    table = Table(box=box.SIMPLE)
    table.add_column("id", no_wrap=True, min_width=12)
    for name in ("actor", "acts", "state", "last seen", "client"):
        table.add_column(name)
    for r in found:
        table.add_row(r.id[:12], r.actor, "yes" if r.can_act else "no", _state(r, now, idle_since),
                      r.last_seen_at.strftime("%m-%d %H:%M"), r.client)
    out.print(table)


@app.command("revoke")
def revoke(session: Annotated[str, typer.Argument(metavar="ID",
                                                  help="session id or unique prefix")],
           reason: Annotated[str, typer.Option(help="shown in the audit log")] = "",
           config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """End a console session now, on every replica (audited)."""
    from remediator.operate import sessions as session_admin
    from remediator.operate.operator_log import Actor
    from remediator.store.operating import OperatorStore

    settings = load_settings(config, database_url=database_url)
    try:
        record, changed = session_admin.revoke(OperatorStore(open_database(settings)),
                                               session, actor=Actor.cli(), reason=reason,
                                               now=utcnow())
    except LookupError as error:  # unknown or ambiguous
        err.print(str(error))
        raise typer.Exit(1) from None
    if changed:
        out.print(f"revoked session {record.id[:12]} of {record.actor}")
    else:
        out.print(f"session {record.id[:12]} of {record.actor} was revoked already "
                  f"(by {record.revoked_by or '?'})")
