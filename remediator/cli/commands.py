"""The `remediator` command: serve, rules check/test, simulate, audit; the on-call verbs
(status, show, approve, decline, pause, resume, breaker reset) are registered from
`remediator.cli.console` and `remediator.cli.controls` (docs/cli.md).

`serve` takes one flag per setting (`--database-url`, `--dry-run`, ...),
generated from `Settings`, so flags, environment variables and the YAML
file can never drift apart.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from remediator import __version__
from remediator.cli import audit
from remediator.cli.drift import drift
from remediator.cli.notify import app as notify_app
from remediator.cli.options import (
    CaFileOption,
    ConfigOption,
    DatabaseOption,
    ServerOption,
    TokenFileOption,
)
from remediator.cli.sessions import app as sessions_app
from remediator.cli.store import audit_reads, store_settings
from remediator.cli.store import load_settings as _settings
from remediator.cli.store import open_database as _database
from remediator.cli.terminal import out
from remediator.cluster.cli import app as cluster_app
from remediator.model.clock import utcnow
from remediator.report.backtest_cli import backtest_command
from remediator.report.cli import app as report_app

# Each command imports what it uses: `remediator --help` or `audit` should not
# pay for SQLAlchemy, pydantic, Jinja or the web stack it never touches
# (tests/cli/test_cli_imports.py holds that line). `audit` usually runs without
# this module (`remediator.cli.main`).
if TYPE_CHECKING:
    import click

    from remediator.app.settings import Settings

app = typer.Typer(help="Prometheus-driven remediation with guards and an audit log.",
                  no_args_is_help=True, add_completion=True)
rules_app = typer.Typer(help="Validate and unit-test rule files.", no_args_is_help=True)
audit_app = typer.Typer(help="Read and verify the audit log.", invoke_without_command=True)
breaker_app = typer.Typer(help="The global circuit breaker.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(audit_app, name="audit")
app.add_typer(breaker_app, name="breaker")


@rules_app.command("check")
def rules_check(paths: Annotated[list[Path], typer.Argument(help="files or directories")]) -> None:
    """Validate rule files; every error names file, line and field."""
    from remediator.rules.model import RuleLoadError, load_rules, rule_files

    try:
        loaded = load_rules(paths)
    except RuleLoadError as error:
        for problem in error.errors:  # one line each, like a compiler: file:line: field: msg
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(error.errors)} error(s)", err=True)
        raise typer.Exit(1) from None
    out.print(f"OK: {len(loaded.rules)} rules in {len(rule_files(paths))} file(s)")


@rules_app.command("test")
def rules_test(files: Annotated[list[Path], typer.Argument(help="rule test files")]) -> None:
    """Run rule unit tests (given alerts, expected decisions)."""
    from remediator.decide.ruletest import run_file

    results = [result for path in files for result in run_file(path)]
    failed = [r for r in results if not r.passed]
    for result in failed:
        typer.echo(f"FAILED {result.file}: {result.name}", err=True)
        for problem in result.problems:
            typer.echo(f"  {problem}", err=True)
    typer.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of a rule file (also docs/rules.schema.json), for editors."""
    import json

    from remediator.rules.schema import rule_file_schema

    typer.echo(json.dumps(rule_file_schema(), indent=2))


@app.command()
def simulate(
    alerts_file: Annotated[Path, typer.Argument(metavar="ALERTS.json")],
    rules: Annotated[list[Path], typer.Option("--rules", help="rule files or directories")],
    dry_run: Annotated[bool, typer.Option(help="as with a global dry-run")] = False,
    allowed_namespaces: Annotated[str, typer.Option(help="comma-separated")] = "",
    denied_namespaces: Annotated[str, typer.Option(help="comma-separated")] = "kube-system",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the decisions these alerts would get; nothing is executed or stored."""
    from remediator.decide.simulate import read_alerts
    from remediator.decide.simulate import simulate as run
    from remediator.model.policy import Policy
    from remediator.rules.model import RuleLoadError, load_rules

    try:
        ruleset = load_rules(rules)
        alerts = read_alerts(alerts_file)
    except RuleLoadError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    policy = Policy(dry_run=dry_run, allowed_namespaces=_csv(allowed_namespaces),
                    denied_namespaces=_csv(denied_namespaces))
    decisions = run(alerts, ruleset, policy)
    if as_json:
        out.print_json(json.dumps(decisions))
        return
    from remediator.cli.simulate_view import decisions_view

    out.print(decisions_view(decisions, out.width))


def _csv(value: str) -> frozenset[str]:
    return frozenset(item.strip() for item in value.split(",") if item.strip())


@audit_app.callback()
def audit_log(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="RFC 3339 or relative, e.g. 1h")] = "1h",
    rule: Annotated[str | None, typer.Option()] = None,
    outcome: Annotated[str | None, typer.Option()] = None,
    alertname: Annotated[str | None, typer.Option()] = None,
    namespace: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit.MAX_LIMIT)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    until: Annotated[str | None, typer.Option(help="RFC 3339 or relative, e.g. 30m")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f",
                                         help="keep printing new entries")] = False,
    server: ServerOption = None,
    token_file: TokenFileOption = None,
    ca_file: CaFileOption = None,
) -> None:
    """The audit log for on-call, newest first (`audit verify` checks its hash chain)."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = (config, database_url)
        return
    audit.show(audit.AuditOptions(
        since=since, rule=rule, outcome=outcome, alertname=alertname, namespace=namespace,
        limit=limit, as_json=as_json, config=config, database_url=database_url, until=until,
        follow=follow, server=server, token_file=token_file, ca_file=ca_file))


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Recompute the audit log's hash chain; exit 1 at the first tampered entry."""
    config, database_url = ctx.obj or (None, None)
    settings = store_settings(config, database_url)
    database = _database(settings)
    try:
        report = audit_reads(database).verify()
    finally:
        database.dispose()
    if not report.ok:
        where = (f" at entry {report.first_bad_id}" if report.first_bad_id is not None else "")
        typer.echo(f"audit chain broken{where}: {report.problem} ({report.checked} "
                   "entries before it are intact)", err=True)
        raise typer.Exit(1)
    if database.seal is None:
        out.print(f"OK: {report.checked} audit entries, hash chain intact (no audit key at "
                  f"{settings.audit_files()[0]}: unkeyed, truncation is not detectable)")
        return
    head = (f"head record at entry {report.head.id} ({report.head.count} entries ever, "
            f"{report.after_head} newer)" if report.head else "no entries yet")
    out.print(f"OK: {report.checked} audit entries, keyed hash chain intact, {head}")


@audit_app.command("reanchor")
def audit_reanchor(ctx: typer.Context, reason: Annotated[str, typer.Option(
        help="what the investigation found (shown in the audit log)")]) -> None:
    """Start a new audit head from the entries there are now, after investigating why
    `audit verify` reported the old one (a restored backup, deleted entries). Audited."""
    from remediator.operate import operator_log
    from remediator.operate.operator_log import Actor
    from remediator.store.operating import OperatorStore

    if not reason.strip():
        typer.echo("--reason must say what the investigation found", err=True)
        raise typer.Exit(2)
    config, database_url = ctx.obj or (None, None)
    database = _database(store_settings(config, database_url))
    try:
        if database.seal is None:
            typer.echo("no audit key found: an unkeyed chain has no head to re-anchor",
                       err=True)
            raise typer.Exit(2)
        was = operator_log.reanchor_audit(OperatorStore(database), actor=Actor.cli(),
                                          reason=reason, now=utcnow())
    finally:
        database.dispose()
    out.print(f"new audit head started (replaced: {was}); restart the replicas so a "
              "stalled writer moves it again")


def _serve_command() -> click.Command:
    """`serve` with one option per setting, generated from `Settings`.

    Every flag defaults to None (so the environment and the YAML file can
    decide); its help shows the setting's own default instead.
    """
    import click

    from remediator.app.settings import Settings

    params: list[click.Parameter] = [
        click.Option(["--config"], type=click.Path(dir_okay=False, path_type=Path),
                     help="YAML settings file")]
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        shown = _shown_default(field.default)
        default = f"default: {shown}; " if shown else ""
        help_text = f"{field.description or ''} [{default}env REMEDIATOR_{name.upper()}]"
        if field.annotation is bool:
            params.append(click.Option([f"{flag}/--no-{flag[2:]}"], default=None,
                                       help=help_text))
        else:
            params.append(click.Option([flag], default=None, help=help_text))

    def run(config: Path | None, **flags: Any) -> None:
        settings = _serve_settings(config, flags)
        if settings.demo:
            from remediator.demo.serve import serve_demo

            serve_demo(settings)
            return
        from remediator.web.server import serve

        serve(settings)

    return click.Command("serve", params=params, callback=run,
                         help="Run the service (webhook, API, worker, scheduler).")


def _shown_default(value: Any) -> str:
    """A setting's default as one would type it ("" when there is none to show)."""
    from datetime import timedelta

    from remediator.model.durations import format_duration

    if value is None or value == []:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _serve_settings(config: Path | None, flags: dict[str, Any]) -> Settings:
    """The settings `serve` runs with; an invalid one is the same one line as every other
    start-up refusal (`refusing to start: NAME: why`), exit status 2, no traceback.

    Printed, not logged: the log format is itself a setting.
    """
    from remediator.app.settings import load_settings, settings_problem

    try:
        return load_settings(config, **flags)
    except (ValueError, OSError) as error:
        sys.stderr.write(f"refusing to start: {settings_problem(error)}\n")
        sys.stderr.flush()
        raise SystemExit(2) from None


app.add_typer(cluster_app, name="cluster", help="Provision and edit the K3s cluster (Ansible).")
app.add_typer(report_app, name="report")
app.command("backtest")(backtest_command)
app.add_typer(sessions_app, name="sessions")
app.add_typer(notify_app, name="notify")
app.command("drift")(drift)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                "help_option_names": []})
def serve(ctx: typer.Context) -> None:
    """Run the service (webhook, API, worker, scheduler); `serve --help` lists every flag."""
    _serve_command().main(args=ctx.args, prog_name="remediator serve")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"remediator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="print the version and exit")] = False) -> None:
    """Prometheus-driven remediation with guards and an audit log."""


def _register_console() -> None:
    from remediator.cli import controls
    from remediator.cli.console import register

    register(app, settings_of=_settings, database_of=_database)
    controls.register(app, breaker_app)


_register_console()


def serve_main(argv: list[str]) -> None:
    """What the `serve` command does, without typer's dispatch (a pydantic adapter per
    parameter: ~10 % of a start, issue 11); `typer.Exit` from `_settings` as typer would."""
    try:
        _serve_command().main(args=argv, prog_name="remediator serve")
    except typer.Exit as done:
        sys.exit(done.exit_code)
