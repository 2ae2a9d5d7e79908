"""Run the provisioning playbook (site.yml) with live progress and a recap table.

The run goes through the same typed adapter as the `ansible.playbook` action
(`remediator.actions.ansible.runner`); this module only adds the display: one line
per host showing its current task, and the play recap as a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from remediator.actions.ansible.playbook import (
    EventCallback,
    PlaybookEvent,
    PlaybookRequest,
    PlaybookResult,
)
from remediator.actions.ansible.runner import run_playbook

_STYLES = {"ok": "green", "changed": "yellow", "failed": "bold red", "unreachable": "bold red",
           "skipped": "cyan"}


@dataclass
class _HostLine:
    task: str = ""
    state: str = "waiting"
    counts: dict[str, int] = field(default_factory=dict)


class ProgressBoard:
    """What each host is doing, rendered as a table and updated from playbook events."""

    def __init__(self) -> None:
        self.play = ""
        self.task = ""
        self.hosts: dict[str, _HostLine] = {}

    def update(self, event: PlaybookEvent) -> None:
        if event.kind == "play":
            self.play = event.play
            return
        if event.kind == "task":
            self.task = event.task
            return
        line = self.hosts.setdefault(event.host, _HostLine())
        line.task = event.task
        line.state = event.kind
        line.counts[event.kind] = line.counts.get(event.kind, 0) + 1

    def __rich__(self) -> Table:
        table = Table(title=f"{self.play} · {self.task}" if self.play else "starting",
                      title_justify="left", show_edge=False, expand=False)
        table.add_column("host")
        table.add_column("state")
        table.add_column("task")
        table.add_column("ok/changed/failed", justify="right")
        for host, line in sorted(self.hosts.items()):
            counts = "/".join(str(line.counts.get(kind, 0)) for kind in ("ok", "changed", "failed"))
            table.add_row(host, Text(line.state, style=_STYLES.get(line.state, "")), line.task,
                          counts)
        return table


def recap_table(result: PlaybookResult) -> Table:
    """Ansible's PLAY RECAP as a table."""
    table = Table(title=f"recap: {result.status} (rc={result.rc}, {result.duration:.1f}s)",
                  title_justify="left")
    columns = ("ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored")
    table.add_column("host")
    for column in columns:
        table.add_column(column, justify="right")
    for host, line in sorted(result.recap.items()):
        values = line.to_json()
        cells = [Text(str(values[column]),
                      style=_STYLES.get(column, "") if values[column] else "dim")
                 for column in columns]
        table.add_row(host, *cells)
    return table


def failure_summary(result: PlaybookResult) -> str:
    """One line per failed host and task, for the error message of a failed run."""
    if result.status == "timeout":
        return "the run timed out and was stopped"
    lines = [f"{failure.host}: {'unreachable' if failure.unreachable else 'failed'} at task "
             f"{failure.task!r}: {failure.message}" for failure in result.failures]
    if not lines and result.failed_hosts:
        lines = [f"{host}: failed" for host in result.failed_hosts]
    return "\n".join(lines) or f"ansible-playbook exited with rc={result.rc}"


def provision(*, inventory: Path, playbook_dir: Path, console: Console,
              playbook: str = "site.yml", check: bool = False, tags: Sequence[str] = (),
              limit: str | None = None, extravars: Mapping[str, Any] | None = None,
              roles_path: Sequence[Path] | None = None,
              timeout: float = 4 * 3600.0,
              observe: EventCallback | None = None) -> PlaybookResult:
    """Run `playbook` from `playbook_dir` against `inventory`, showing progress on `console`.

    `observe` sees every event too (the upgrade plan reads its decisions from them).
    """
    playbook_dir = playbook_dir.resolve()
    if roles_path is None:
        sibling = playbook_dir.parent / "roles"
        roles_path = [sibling] if sibling.is_dir() else []
    request = PlaybookRequest(
        project_dir=playbook_dir, playbook=playbook, inventory=inventory.resolve(),
        limit=limit, extravars=dict(extravars or {}), tags=tuple(tags), check=check,
        timeout=timeout, roles_path=tuple(roles_path))
    board = ProgressBoard()
    with Live(board, console=console, refresh_per_second=4, transient=False) as live:
        def on_event(event: PlaybookEvent) -> None:
            board.update(event)
            if observe is not None:
                observe(event)
            live.refresh()

        result = run_playbook(request, on_event=on_event)
    if not console.is_terminal:
        console.line()  # Live leaves its last line open when not on a terminal
    console.print(recap_table(result))
    return result
