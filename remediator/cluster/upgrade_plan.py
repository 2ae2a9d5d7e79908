"""`cluster upgrade --check`: the per-node plan, read from a check-mode run of upgrade.yml.

The play decides for itself, per node, from the binary its k3s link points at;
the run changes nothing in check mode. Its events say which nodes reached the
"would go from" step (they would be upgraded), which skipped it (already at
the target) and which stopped before it, and why. Events carry no module
results, so the version a node runs now comes from the cluster API when a
kubeconfig answers (a node already at the target runs the target). The order
is the play's: servers first, then agents, one node at a time, in inventory
order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.table import Table
from rich.text import Text

from remediator.actions.ansible.playbook import PlaybookEvent, TaskFailure

# The task of roles/k3s_upgrade that runs, in check mode, only on nodes to upgrade.
PLAN_TASK = "Say what the upgrade would do (check mode)"
Action = Literal["upgrade", "already at target", "skipped"]
_NUMBERS = re.compile(r"v(\d+)\.(\d+)\.(\d+)(?:\+k3s(\d+))?")


@dataclass
class PlanRecorder:
    """Collects, from the check run's events, the nodes reached and each one's decision."""

    reached: set[str] = field(default_factory=set)
    decided: dict[str, str] = field(default_factory=dict)

    def update(self, event: PlaybookEvent) -> None:
        if not event.host:
            return
        self.reached.add(event.host)
        if event.task.endswith(PLAN_TASK) and event.kind in ("ok", "skipped"):
            self.decided[event.host] = event.kind


@dataclass(frozen=True, kw_only=True)
class PlanRow:
    """One node of the plan; `step` is its place among the nodes to upgrade."""

    node: str
    role: str
    current: str | None
    target: str
    action: Action
    reason: str = ""
    step: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def _release(version: str) -> tuple[int, ...] | None:
    match = _NUMBERS.fullmatch(version)
    return tuple(int(part or 0) for part in match.groups()) if match else None


def _upgrade_reason(current: str | None, target: str) -> str:
    now, wanted = _release(current or ""), _release(target)
    if now is not None and wanted is not None and now > wanted:
        return "a downgrade: the node runs a newer release"
    return ""


def _skip_reason(node: str, recorder: PlanRecorder, failure: TaskFailure | None,
                 limited: bool) -> str:
    if failure is not None:
        what = "unreachable" if failure.unreachable else f"failed at {failure.task!r}"
        return f"{what}: {' '.join(failure.message.split())}".rstrip(": ")
    if node not in recorder.reached:
        return ("not in --limit" if limited
                else "not reached: the run stopped at an earlier node")
    return "no decision: see the recap"


def plan_rows(*, servers: Sequence[str], agents: Sequence[str], target: str,
              recorder: PlanRecorder, failures: Sequence[TaskFailure],
              versions: Mapping[str, str] | None, limited: bool) -> list[PlanRow]:
    """The plan in the play's order: servers, then agents, each group in inventory order."""
    failed = {failure.host: failure for failure in failures}
    rows: list[PlanRow] = []
    step = 0
    for role, names in (("server", servers), ("agent", agents)):
        for node in names:
            current = (versions or {}).get(node) or None
            decision = recorder.decided.get(node)
            if node not in failed and decision == "ok":
                step += 1
                rows.append(PlanRow(node=node, role=role, current=current, target=target,
                                    action="upgrade", step=step,
                                    reason=_upgrade_reason(current, target)))
            elif node not in failed and decision == "skipped":
                rows.append(PlanRow(node=node, role=role, current=current or target,
                                    target=target, action="already at target"))
            else:
                rows.append(PlanRow(node=node, role=role, current=current, target=target,
                                    action="skipped", reason=_skip_reason(
                                        node, recorder, failed.get(node), limited)))
    return rows


_ACTION_STYLES = {"upgrade": "yellow", "already at target": "green", "skipped": "bold red"}


def plan_table(rows: Sequence[PlanRow], target: str, source: str) -> Table:
    """The plan as printed: one row per node, numbered in the order they would go."""
    table = Table(title=f"upgrade plan to {target}: servers first, then agents, one node at "
                        f"a time (check mode, nothing changed; versions: {source})",
                  title_justify="left")
    for column in ("step", "node", "role", "current", "target", "action", "reason"):
        table.add_column(column)
    for row in rows:
        # Text, not markup: a failure message may hold brackets.
        table.add_row(str(row.step) if row.step else "-", row.node, row.role,
                      row.current or "?", row.target,
                      Text(row.action, style=_ACTION_STYLES[row.action]), Text(row.reason))
    return table
