"""A backtest as JSON, a terminal table, and the timeline of its busiest hour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is loaded when a table is drawn (the console imports this module)
    from rich.table import Table

from remediator.report.backtest_replay import HOLDING, Backtest

TOP_TARGETS = 10


def to_json(result: Backtest, *, complete: bool = True) -> dict[str, Any]:
    """The backtest for scripts: per rule, busiest targets, busiest hour's timeline."""
    hour, timeline = result.busiest_hour()
    return {
        "range": {"start": result.start.isoformat(), "end": result.end.isoformat()},
        "complete": complete,
        "episodes": result.episodes,
        "unmatched_episodes": result.unmatched,
        "rejected_episodes": result.rejected,
        "rules": {name: {"matched": t.matched, "episodes": t.episodes,
                         "would_act": t.would_act, "awaiting_approval": t.awaiting_approval,
                         "held_back": {o.value: t.held_back.get(o.value, 0) for o in HOLDING}}
                  for name, t in sorted(result.rules.items())},
        "busiest_targets": [{"target": target, "episodes": n}
                            for target, n in result.episodes_per_target.most_common(TOP_TARGETS)],
        "busiest_hour": {
            "start": hour.isoformat() if hour else None,
            "decisions": [{"at": d.at.isoformat(), "alertname": d.alertname, "rule": d.rule,
                           "outcome": d.outcome.value, "target": d.target, "reason": d.reason}
                          for d in timeline]},
    }


def rules_table(result: Backtest) -> Table:
    from rich.table import Table

    table = Table(title=f"Backtest {result.start:%Y-%m-%d %H:%M} .. {result.end:%Y-%m-%d %H:%M}"
                        f" UTC: {result.episodes} episodes, {result.unmatched} matched no rule")
    for column in ("rule", "matched", "episodes", "would act", "approval",
                   *(o.value.replace("_", " ") for o in HOLDING)):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for name, t in sorted(result.rules.items()):
        table.add_row(name, str(t.matched), str(t.episodes), str(t.would_act),
                      str(t.awaiting_approval), *(str(t.held_back.get(o.value, 0))
                                                  for o in HOLDING))
    return table


def targets_table(result: Backtest) -> Table:
    from rich.table import Table

    table = Table(title="Busiest targets (episodes)")
    table.add_column("target")
    table.add_column("episodes", justify="right")
    for target, n in result.episodes_per_target.most_common(TOP_TARGETS):
        table.add_row(target, str(n))
    return table


def timeline_table(result: Backtest) -> Table:
    from rich.table import Table

    hour, timeline = result.busiest_hour()
    table = Table(title=f"Busiest hour: {hour:%Y-%m-%d %H:00} UTC" if hour else
                  "Busiest hour: no decisions")
    for column in ("time", "rule", "outcome", "target", "reason"):
        table.add_column(column)
    for d in timeline:
        table.add_row(f"{d.at:%H:%M:%S}", d.rule, d.outcome.value, d.target, d.reason)
    return table
