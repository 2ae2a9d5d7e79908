"""Benchmark scenarios, selectable by name. Each returns one `Run` per call.

A scenario measures; it never judges a figure. It lists in `Run.errors`
everything that makes the run unreportable (a non-200, audit rows that do not
match the decisions returned, a service that crashed, an action that failed),
and the CLI refuses to report a run with errors.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Run:
    figures: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """Printed under the run's progress line (settings used, a truncated storm)."""


Scenario = Callable[[argparse.Namespace, Path], Run]


def registry() -> dict[str, Scenario]:
    """Name -> scenario, in the order `all` runs them."""
    from bench.scenarios import (
        actions,
        audit_size,
        backtest,
        postgres,
        recovery,
        rules,
        soak,
        startup,
        storm,
    )

    return {"storm": storm.run_storm, "single": storm.run_single, "startup": startup.run,
            "soak": soak.run, "rules": rules.run, "audit-size": audit_size.run,
            "postgres": postgres.run, "actions": actions.run,
            "recovery": recovery.run, "backtest": backtest.run}
