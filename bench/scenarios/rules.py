"""`rules`: throughput and p99 of the storm with 1, 10, 100, 500 generated rules.

Rule 0 is the storm's rule; the others answer alertnames the storm never
sends (see bench/rulegen.py), so the decisions are the same at every size and
only the cost of matching grows (or, with an alertname index, does not).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.rulegen import write_rules
from bench.scenarios import Run
from bench.scenarios.storm import storm


def run(opts: argparse.Namespace, workdir: Path) -> Run:
    result = Run()
    for count in opts.rule_counts:
        where = workdir / f"rules-{count}"
        one = storm(opts, where, concurrency=opts.concurrency, restart=False, profile=None,
                    rules=write_rules(where / "rules", count))
        for figure in ("alerts_per_s", "p99_ms", "p50_ms", "startup_new_db_s"):
            if figure in one.figures:
                result.figures[f"rules_{count}_{figure}"] = one.figures[figure]
        result.errors += [f"{count} rules: {e}" for e in one.errors]
        result.detail[str(count)] = one.detail
    return result
