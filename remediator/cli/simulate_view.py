"""`remediator simulate`'s decisions for a terminal, every value in full.

A table whose five columns share 80 columns cut the long values (a pod name,
the reason quoting it) to a few characters each, and the values are what a
rule author runs `simulate` to read (issue 23). Wide terminals get the table
with every cell wrapped; narrower ones a list, one decision per paragraph,
each value on its own line, wrapped at word boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from remediator.cli.audit import OUTCOME_STYLE
from remediator.cli.terminal import wrap

if TYPE_CHECKING:
    from rich.console import RenderableType

TABLE_WIDTH = 120
"""Columns from which the decisions are a table (as `remediator audit`'s wide table)."""
_FIELDS = (("rule", "rule"), ("target", "target"), ("reason", "reason"))


def decisions_view(decisions: Sequence[dict[str, Any]], width: int) -> RenderableType:
    """The decisions as a table (`width` >= TABLE_WIDTH) or a list, nothing cut."""
    return _table(decisions) if width >= TABLE_WIDTH else _listing(decisions, width)


def _table(decisions: Sequence[dict[str, Any]]) -> RenderableType:
    from rich.table import Table
    from rich.text import Text

    table = Table(pad_edge=False)
    table.add_column("alert", overflow="fold")
    table.add_column("rule", overflow="fold")
    table.add_column("outcome", no_wrap=True)
    table.add_column("target", overflow="fold")
    table.add_column("reason", ratio=1, overflow="fold")
    for d in decisions:
        table.add_row(d["alertname"], d["rule"] or "",
                      Text(d["outcome"], style=OUTCOME_STYLE.get(d["outcome"], "")),
                      d["target"] or "", d["reason"])
    return table


def _listing(decisions: Sequence[dict[str, Any]], width: int) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    parts: list[RenderableType] = []
    for number, d in enumerate(decisions):
        if number:
            parts.append(Text(""))
        parts.append(Text.assemble((d["alertname"], "bold"), ": ",
                                   (d["outcome"], OUTCOME_STYLE.get(d["outcome"], ""))))
        for label, key in _FIELDS:
            if d.get(key):
                parts.append(Text(wrap(f"  {label:<8}{d[key]}", width, hang=8),
                                  no_wrap=True, overflow="ignore"))
    return Group(*parts)
