"""`remediator backtest`: what the rules would have done over Prometheus' alert history.

Reads `ALERTS` history (prometheus-api-client, the `remediator[analysis]`
extra), rebuilds firing episodes, replays them through the real engine and
guards on a simulated clock, and prints or writes the result. Executes
nothing, stores nothing. Imports stay inside the function: `remediator --help`
must not pay for requests or pydantic.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from remediator.cli.terminal import LazyConsole

if TYPE_CHECKING:
    from remediator.rules.model import RuleSet

err = LazyConsole(stderr=True)
out = LazyConsole()


def backtest_command(
    rules: Annotated[list[Path], typer.Option("--rules", help="rule files or directories")],
    since: Annotated[str, typer.Option(help="range start: RFC 3339 or relative, e.g. 7d")] = "7d",
    until: Annotated[str, typer.Option(help="range end: RFC 3339 or relative")] = "0s",
    prometheus_url: Annotated[str | None, typer.Option(
        envvar="REMEDIATOR_PROMETHEUS_URL", help="defaults to REMEDIATOR_PROMETHEUS_URL")] = None,
    step: Annotated[str, typer.Option(help="query resolution")] = "30s",
    chunk: Annotated[str, typer.Option(help="range read per query")] = "6h",
    gap: Annotated[str, typer.Option(help="a pause in firing longer than this ends an "
                                          "episode (above the rule evaluation interval)")] = "2m",
    repeat_interval: Annotated[str, typer.Option(
        help="Alertmanager's repeat_interval (repeats are deduplicated)")] = "4h",
    dry_run: Annotated[bool, typer.Option(help="as with a global dry-run")] = False,
    allowed_namespaces: Annotated[str, typer.Option(help="comma-separated")] = "",
    denied_namespaces: Annotated[str, typer.Option(help="comma-separated")] = "kube-system",
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of tables")] = False,
    html: Annotated[Path | None, typer.Option("--html", dir_okay=False,
                                              help="also write a self-contained HTML report")
                    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, max=600, help="seconds per chunk")] = 30.0,
    prometheus_ca_file: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="CA bundle for Prometheus' TLS certificate")] = None,
    prometheus_token_file: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="file holding a bearer token for Prometheus")] = None,
) -> None:
    """Replay Prometheus' alert history through the rules and guards; nothing is executed."""
    try:
        from remediator.report.backtest_history import Connection, HistoryError, read_history
    except ImportError:
        _fail("backtest needs the analysis extra: install remediator[analysis]")
    from remediator.model.policy import Policy
    from remediator.report.backtest_replay import replay

    if not prometheus_url:
        _fail("no Prometheus URL: pass --prometheus-url or set REMEDIATOR_PROMETHEUS_URL")
    ruleset, (start, end), spans = _inputs(rules, since, until, step=step, chunk=chunk, gap=gap,
                                           repeat=repeat_interval)
    connection = Connection(url=prometheus_url, timeout=timeout, ca_file=prometheus_ca_file,
                            bearer_token=_token(prometheus_token_file))
    try:
        history = read_history(connection, start=start, end=end, step=spans["step"],
                               chunk=spans["chunk"], gap=spans["gap"])
    except HistoryError as error:
        _fail(str(error))
    policy = Policy(dry_run=dry_run, allowed_namespaces=_csv(allowed_namespaces),
                    denied_namespaces=_csv(denied_namespaces))
    result = replay(history.episodes, ruleset, policy, start=start, end=end,
                    repeat_interval=spans["repeat"])
    _print(result, as_json=as_json, html=html)


def _inputs(rules: list[Path], since: str, until: str,
            **durations: str) -> tuple[RuleSet, tuple[datetime, datetime], dict[str, timedelta]]:
    """The rules, the range and the durations, or exit 2 naming what is wrong."""
    from remediator.model.durations import parse_duration
    from remediator.model.timeparse import parse_time
    from remediator.rules.model import RuleLoadError, load_rules

    now = datetime.now(UTC)
    try:
        ruleset = load_rules(rules)
        span = (parse_time(since, now), parse_time(until, now))
        spans = {name: parse_duration(text) for name, text in durations.items()}
    except (RuleLoadError, ValueError) as error:
        _fail(str(error))
    return ruleset, span, spans


def _print(result: object, *, as_json: bool, html: Path | None) -> None:
    from remediator.report.backtest_render import (
        rules_table,
        targets_table,
        timeline_table,
        to_json,
    )
    from remediator.report.backtest_replay import Backtest

    assert isinstance(result, Backtest)
    if html is not None:
        from remediator.report.backtest_html import html_report

        try:
            html.write_text(html_report(result), encoding="utf-8")
        except OSError as error:
            _fail(f"{html}: cannot write: {error.strerror}")
    if as_json:
        typer.echo(json.dumps(to_json(result), indent=2))
        return
    for table in (rules_table(result), targets_table(result), timeline_table(result)):
        out.print(table)
    for reason in result.rejected:
        err.print(f"skipped episode: {reason}", highlight=False, markup=False)


def _token(path: Path | None) -> str | None:
    """The bearer token in `path` (one word), or exit 2; the token itself is never shown."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        _fail(f"{path}: cannot read the token: {type(error).__name__}")
    if not token or any(c.isspace() for c in token):
        _fail(f"{path}: the token must be one non-empty word")
    return token


def _csv(value: str) -> frozenset[str]:
    return frozenset(item.strip() for item in value.split(",") if item.strip())


def _fail(message: str) -> NoReturn:
    """One line on stderr, exit 2; the message is printed as is (`[analysis]` is no markup)."""
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(2)
