"""`remediator notify test CHANNEL`: send a sample and say what happened (exit 1 if not).

CHANNEL is `slack` or `mattermost` (chat approvals), `slack-webhook`
(NOTIFY_SLACK_URL), `webhook` (NOTIFY_WEBHOOK_URL), or an incident timeline:
`pagerduty`, `opsgenie` (a note on the alert `--alias` names), `grafana`. It reads the same
settings as `serve` (environment, `--config`), so it tests what the service
would do; the heavy imports happen only when it runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from remediator.cli.store import load_settings
from remediator.cli.terminal import err, out

app = typer.Typer(help="Outgoing notifications and chat approvals.", no_args_is_help=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", help="YAML settings file")]


@app.command("test")
def send_test(channel: Annotated[str, typer.Argument(
        help="slack, mattermost, slack-webhook, webhook, pagerduty, opsgenie or grafana")],
         config: ConfigOption = None,
         alias: Annotated[str, typer.Option(
             help="opsgenie: the alias of an open alert to add the sample note to")
         ] = "remediator-test") -> None:
    """Send one sample message to CHANNEL with the service's settings; say what happened."""
    from remediator.app.notify_test import CHANNELS, NotConfigured, hint, send_sample
    from remediator.operate.chat.transport import ChatApiError

    if channel not in CHANNELS:
        err.print(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}", markup=False)
        raise typer.Exit(2)
    settings = load_settings(config)
    try:
        said = asyncio.run(send_sample(settings, channel, alias=alias))
    except NotConfigured as error:
        err.print(str(error), markup=False)
        raise typer.Exit(2) from None
    except (ChatApiError, ValueError) as error:
        err.print(f"{channel}: not sent: {error}{hint(error)}", markup=False)
        raise typer.Exit(1) from None
    out.print(said, markup=False)
