"""`remediator audit`: the audit log for on-call, as a table, JSON lines or followed.

On-call runs it in a shell, often several times in a row, so it must answer
quickly (issue 11: < 0.5 s as a whole process). Typer builds a pydantic
`TypeAdapter` per option and pydantic-settings is ~0.2 s to import, so the
usual invocation skips both: `parse` reads the options typer declares for
`audit` (`remediator.cli.commands.audit_log`, which calls `show` too) and answers
None for anything else (`--help`, `verify`, a value typer must judge), which
typer then handles as before. tests/cli/test_cli_audit.py holds the two
parsers to the same answers.

With `--server` (or `REMEDIATOR_SERVER`) the entries come from the service's
`GET /api/v1/audit` (`remediator.cli.audit_http`), else from the database
(break-glass); the table, JSON and `--follow` are the same code for both.
`audit verify` always reads the database: it checks the chain stored there.
"""

from __future__ import annotations

import gc
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from remediator.cli.remote import Target, choose
from remediator.cli.store import audit_reads, open_database, store_settings
from remediator.cli.terminal import err, out
from remediator.model.clock import utcnow

if TYPE_CHECKING:
    from rich.table import Table


OUTCOME_STYLE = {
    "executed": "green", "succeeded": "green", "verified": "green", "approved": "green",
    "failed": "red", "unverified": "red", "exhausted": "red", "breaker_open": "red",
    "rejected": "red", "declined": "red", "awaiting_approval": "yellow",
    "expired": "yellow", "paused": "yellow", "operator": "magenta"}
"""How an outcome is coloured wherever the CLI prints one (audit, show, simulate)."""

MAX_LIMIT = 10000
_VALUED = {"--since": "since", "--rule": "rule", "--outcome": "outcome",
           "--alertname": "alertname", "--namespace": "namespace", "--limit": "limit",
           "--config": "config", "--database-url": "database_url", "--until": "until",
           "--server": "server", "--token-file": "token_file", "--ca-file": "ca_file"}
_FLAGS = {"--json": "as_json", "--follow": "follow", "-f": "follow"}


@dataclass(frozen=True, kw_only=True)
class AuditOptions:
    since: str = "1h"
    rule: str | None = None
    outcome: str | None = None
    alertname: str | None = None
    namespace: str | None = None
    limit: int = 100
    as_json: bool = False
    config: Path | None = None
    database_url: str | None = None
    until: str | None = None
    follow: bool = False
    server: str | None = None
    token_file: Path | None = None
    ca_file: Path | None = None

    def target(self) -> Target:
        return Target(server=self.server, token_file=self.token_file, ca_file=self.ca_file,
                      database_url=self.database_url)


Q = TypeVar("Q", contravariant=True)
T = TypeVar("T")


class AuditSource(Protocol[Q]):
    """Where entries come from: the store's `AuditReads`, or the service's API
    (`remediator.cli.audit_http.HttpAuditReads`), read the same way."""

    def query(self, q: Q, /) -> tuple[list[dict[str, Any]], int | None]: ...

    def newer_than(self, q: Q, last_id: int, /) -> list[dict[str, Any]]: ...


def parse(argv: Sequence[str]) -> AuditOptions | None:
    """`audit`'s options as typer would read them, or None when typer should."""
    given: dict[str, str] = {}
    flags: set[str] = set()
    args = iter(argv)
    for arg in args:
        if arg in _FLAGS:
            flags.add(_FLAGS[arg])
            continue
        name, equals, value = arg.partition("=")
        if name not in _VALUED:
            return None  # --help, verify, a typo: typer's answer
        if not equals:
            following = next(args, None)
            if following is None or following.startswith("-"):
                return None
            value = following
        given[_VALUED[name]] = value
    limit = given.get("limit", "100")
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
        return None  # typer's range message
    paths = {name: given.get(name) for name in ("config", "token_file", "ca_file")}
    if "" in paths.values():
        return None  # typer's (pydantic's) path check
    return AuditOptions(since=given.get("since", "1h"), rule=given.get("rule"),
                        outcome=given.get("outcome"), alertname=given.get("alertname"),
                        namespace=given.get("namespace"), limit=int(limit),
                        as_json="as_json" in flags, database_url=given.get("database_url"),
                        until=given.get("until"), follow="follow" in flags,
                        server=given.get("server"),
                        **{name: Path(value) for name, value in paths.items() if value})


def show(options: AuditOptions) -> None:
    """Print the entries `options` select, newest first (`--follow`: as they come), from
    the service (`--server`, `REMEDIATOR_SERVER`) or the database (break-glass)."""
    since_at, until_at = _window(options)
    remote = choose(options.target())
    if remote is not None:
        from remediator.cli.audit_http import HttpAuditQuery, HttpAuditReads
        from remediator.cli.remote import Client

        with Client(remote) as client:
            _print(HttpAuditReads(client), HttpAuditQuery(
                rule=options.rule, outcome=options.outcome, alertname=options.alertname,
                namespace=options.namespace, since=since_at, until=until_at,
                limit=options.limit), options)
        return
    from remediator.store.audit.log import AuditQuery

    reads = audit_reads(open_database(store_settings(options.config, options.database_url)))
    _print(reads, AuditQuery(rule=options.rule, outcome=options.outcome,
                             alertname=options.alertname, namespace=options.namespace,
                             since=since_at, until=until_at, limit=options.limit), options)


def _window(options: AuditOptions) -> tuple[datetime, datetime | None]:
    """`--since` and `--until` as times; the command ends (2) on a bad value or outcome."""
    from remediator.model.outcomes import Outcome
    from remediator.model.timeparse import parse_time

    if options.outcome is not None and options.outcome not in {o.value for o in Outcome}:
        err.print(f"unknown outcome {options.outcome!r}; one of: "
                  f"{', '.join(o.value for o in Outcome)}")
        raise SystemExit(2)
    try:
        since_at = parse_time(options.since, utcnow())
        until_at = parse_time(options.until, utcnow()) if options.until else None
    except ValueError as error:
        err.print(str(error))
        raise SystemExit(2) from None
    if options.follow and until_at is not None:
        err.print("--follow shows new entries; it cannot be combined with --until")
        raise SystemExit(2)
    return since_at, until_at


def _print(reads: AuditSource[T], query: T, options: AuditOptions) -> None:
    if options.follow:
        gc.enable()  # it runs until interrupted (`remediator.cli.main` may have disabled it)
        try:
            follow(reads, query, _emitter(as_json=options.as_json))
        except KeyboardInterrupt:
            return
        return
    items, _ = reads.query(query)
    if options.as_json:
        sys.stdout.write(json.dumps(items, default=str) + "\n")
        return
    window = f"audit since {options.since}" + (f" until {options.until}" if options.until
                                               else "")
    out.print(audit_table(items, out.width, title=window))


def _emitter(*, as_json: bool) -> Callable[[list[dict[str, Any]]], None]:
    def emit(batch: list[dict[str, Any]]) -> None:
        if as_json:
            for entry in batch:
                sys.stdout.write(json.dumps(entry, default=str) + "\n")
            sys.stdout.flush()
        elif batch:
            out.print(audit_table(batch, out.width))

    return emit


SHORT_ID = 8
"""Characters of a remediation id the table shows, as the page does
(`remediator.store.readmodel.SHORT`, not imported: it brings pydantic)."""


def short_ids(ids: Iterable[str | None], length: int = SHORT_ID) -> dict[str, str]:
    """Each id's prefix of at least `length` characters, long enough that no two
    of `ids` share it: what `remediator show` accepts to name one of them."""
    distinct = sorted({i for i in ids if i})
    shortest = length
    for a, b in itertools.pairwise(distinct):
        common = next((n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                      min(len(a), len(b)))
        shortest = max(shortest, common + 1)
    return {i: i[:shortest] for i in distinct}


def audit_table(items: Iterable[dict[str, Any]], width: int, title: str = "") -> Table:
    """Entries as a table that fits `width`: below 120 columns, two columns (when, what).

    The id (beside the time, or under it when narrow) is the prefix `remediator
    show ID` takes: the way from a line of the log to the whole story of its
    remediation. Narrow, what happened gets all the room left of 80 columns, so
    words wrap whole (issue 23); only a word wider than that is folded.
    """
    from rich.table import Table

    items = list(items)
    ids = short_ids(e.get("remediation_id") for e in items)
    wide = width >= 120
    table = Table(title=title or None, expand=False, show_lines=not wide, pad_edge=False)
    if wide:
        for name in ("time (UTC)", "id", "outcome"):
            table.add_column(name, no_wrap=True)
        for name in ("alert", "rule", "target"):
            table.add_column(name, overflow="fold")
        table.add_column("reason", ratio=1, overflow="fold")
        table.add_column("ms", justify="right")
    else:
        table.add_column("time (UTC)\nid, outcome", no_wrap=True)
        table.add_column("alert, target\nreason", ratio=1, overflow="fold")
    for e in items:
        _add_row(table, e, ids.get(e.get("remediation_id") or "", ""), wide=wide)
    return table


def _add_row(table: Table, e: dict[str, Any], short: str, *, wide: bool) -> None:
    from rich.text import Text

    outcome = Text(e["outcome"], style=OUTCOME_STYLE.get(e["outcome"], ""))
    reason = e["reason"] + (f" ({e['detail']['actor']})"
                            if e.get("detail", {}).get("actor") else "")
    if wide:
        ms = f"{e['duration_ms']:.0f}" if e["duration_ms"] is not None else ""
        table.add_row(e["ts"][:19].replace("T", " "), short, outcome, e["alertname"],
                      e["rule"], e["target"], reason, ms)
        return
    when = Text("\n").join(Text(x) if isinstance(x, str) else x
                           for x in (e["ts"][5:19].replace("T", " "), short, outcome) if x)
    what = Text("  ").join(Text(x, style=style) for x, style in (
        (e["alertname"] or e["action"], "bold"), (e["target"], "")) if x)
    table.add_row(when, Text("\n").join(t for t in (what, Text(reason)) if t.plain))


def follow(reads: AuditSource[T], query: T,
           emit: Callable[[list[dict[str, Any]]], None], *,
           sleep: Callable[[float], None] = time.sleep, interval: float = 2.0,
           polls: int | None = None) -> None:
    """Print new entries as they are appended (oldest first), until interrupted."""
    items, _ = reads.query(query)
    emit(list(reversed(items)))
    last = max((int(e["id"]) for e in items), default=0)
    done = 0
    while polls is None or done < polls:
        sleep(interval)
        done += 1
        fresh = reads.newer_than(query, last)
        if fresh:
            last = max(int(e["id"]) for e in fresh)
            emit(list(reversed(fresh)))
