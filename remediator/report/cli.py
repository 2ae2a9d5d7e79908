"""`remediator report ...`: read-only reports (right-sizing, effectiveness)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from remediator.cli.terminal import LazyConsole
from remediator.report.effectiveness_cli import effectiveness_command

if TYPE_CHECKING:
    from remediator.report.service import Report

app = typer.Typer(help="Read-only reports: recommendations, never changes.",
                  no_args_is_help=True)
err = LazyConsole(stderr=True)
app.command("effectiveness")(effectiveness_command)


@app.command("rightsizing")
def rightsizing_command(
    namespace: Annotated[str, typer.Option(help="the namespace to report on")],
    prometheus_url: Annotated[str | None, typer.Option(
        envvar="REMEDIATOR_PROMETHEUS_URL",
        help="defaults to REMEDIATOR_PROMETHEUS_URL")] = None,
    window: Annotated[str, typer.Option(help="how far back to look, e.g. 7d")] = "7d",
    rate_window: Annotated[str, typer.Option(help="CPU rate() range, e.g. 5m")] = "5m",
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    timeout: Annotated[float, typer.Option(min=0.1, max=300,
                                           help="seconds per request")] = 10.0,
    prometheus_ca_file: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="CA bundle for Prometheus' TLS certificate")] = None,
) -> None:
    """Compare p95 CPU and memory usage with requests and limits; print recommendations.

    Reads pods and Deployments (KUBECONFIG or the in-cluster ServiceAccount) and
    Prometheus range queries over cAdvisor's metrics. Changes nothing.
    """
    from remediator.model.durations import parse_duration
    from remediator.model.validation import namespace as validate_namespace

    if not prometheus_url:
        _fail("no Prometheus URL: pass --prometheus-url or set REMEDIATOR_PROMETHEUS_URL")
    try:
        namespace = validate_namespace(namespace)
        span, rate_span = parse_duration(window), parse_duration(rate_window)
    except ValueError as error:
        _fail(str(error))
    report = _rightsizing(prometheus_url, namespace, window=span, rate_window=rate_span,
                          timeout=timeout, ca_file=prometheus_ca_file)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    from rich.console import Console

    from remediator.report.render import summary, table

    out = Console()
    out.print(table(report))
    out.print(summary(report))


def _rightsizing(prometheus_url: str, namespace: str, *, window: timedelta,
                 rate_window: timedelta, timeout: float, ca_file: Path | None) -> Report:
    """The report, or the reason it cannot be made in an operator's words (exit 2)."""
    import urllib3

    from remediator.actions.kubernetes.client import (
        KubeConfigError,
        close_api_client,
        load_api_client,
    )
    from remediator.model.validation import InvalidTarget
    try:
        from remediator.report.prometheus import PrometheusError
        from remediator.report.service import rightsizing
    except ImportError:
        _fail("the report needs the analysis extra: install remediator[analysis]")

    try:
        client = load_api_client("on")
    except (ValueError, KubeConfigError) as error:
        _fail(str(error))
    assert client is not None  # mode "on" raises instead
    try:
        return rightsizing(client, prometheus_url, namespace, window=window,
                           end=datetime.now(UTC), rate_window=rate_window, timeout=timeout,
                           ca_file=ca_file)
    except (InvalidTarget, PrometheusError, ValueError) as error:
        _fail(str(error))
    except urllib3.exceptions.HTTPError as error:
        _fail(f"cannot reach Kubernetes: {type(error).__name__}")
    except Exception as error:  # the client's ApiException carries headers: status only
        status = getattr(error, "status", None)
        if status is None:
            raise
        _fail(f"Kubernetes refused to list pods/deployments in {namespace}: HTTP {status} "
              f"{getattr(error, 'reason', '')}".rstrip())
    finally:
        close_api_client(client)


def _fail(message: str) -> NoReturn:
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(2)
