"""`python -m bench SCENARIO... [--repeat N] [--json PATH]`: run, check, report.

Each scenario runs `--repeat` times, each time on a fresh service and database
in a temporary directory. A run with errors (any non-200, audit rows that do
not match the decisions returned, a crash, a failed action, ...) stops the
benchmark: the reasons go to stderr, the exit status is 1 and no result is
written. Otherwise it prints the machine, min/median/max of every figure with
the issue's target, and writes JSON (bench/results/<UTC time>-<scenarios>.json
by default) for bench/compare.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import figures, machine
from bench.scenarios import Run, registry
from bench.service import BenchError
from bench.stats import spread

RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA = "remediator-bench/1"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = list(registry())
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   choices=[*names, "all"], help=f"one or more of: {', '.join(names)}, all")
    p.add_argument("--repeat", type=int, default=1, help="runs of each scenario")
    p.add_argument("--json", type=Path, help="result file (default: bench/results/<time>-...)")
    p.add_argument("--keep", action="store_true", help="keep work dirs (databases, logs)")
    g = p.add_argument_group("storm (also used by single, startup, soak, rules, audit-size, "
                             "postgres)")
    g.add_argument("--batches", type=int, default=200, help="timed deliveries")
    g.add_argument("--batch-size", type=int, default=50, help="alerts per delivery")
    g.add_argument("--concurrency", "-c", type=int, default=4, help="concurrent senders")
    g.add_argument("--duplicates", type=float, default=0.10, help="share of repeated alerts")
    g.add_argument("--resolved", type=float, default=0.03, help="share of resolved alerts")
    g.add_argument("--warmup", type=int, default=5, help="untimed deliveries first")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--max-seconds", type=float, default=300,
                   help="stop sending after this (safety; the run says it was truncated)")
    g.add_argument("--rules", help="rule files for the service (default: the storm's one "
                   "generated rule, see bench/rulegen.py)")
    g.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the service (repeatable)")
    g.add_argument("--startup-timeout", type=float, default=60)
    g.add_argument("--profile", nargs="?", const="auto", metavar="PREFIX",
                   help="py-spy the service during `storm`: PREFIX.txt (collapsed stacks) and "
                        "PREFIX.summary.txt; default bench/results/profile-<time>")
    g = p.add_argument_group("startup")
    g.add_argument("--startup-fill", type=int, default=100,
                   help="deliveries stored before the existing-database start")
    g.add_argument("--no-kubernetes-startup", dest="kubernetes_startup", action="store_false",
                   help="skip the start with a kubeconfig (it imports the Kubernetes client)")
    g = p.add_argument_group("soak")
    g.add_argument("--soak-minutes", type=float, default=10)
    g.add_argument("--soak-sample", type=float, default=5, help="RSS sample interval, s")
    g.add_argument("--soak-rate", type=float, help="alerts/s (default: half the peak)")
    g.add_argument("--soak-calibrate", type=int, default=200,
                   help="deliveries at full speed to measure the peak")
    g = p.add_argument_group("rules")
    g.add_argument("--rule-counts", default="1,10,100,500", help="comma-separated")
    g = p.add_argument_group("audit-size")
    g.add_argument("--audit-rows", type=int, default=10_000_000)
    g.add_argument("--audit-days", type=float, default=30, help="spread of the entries")
    g.add_argument("--audit-queries", type=int, default=20, help="repeats of each query")
    g = p.add_argument_group("postgres")
    g.add_argument("--pg-setting", action="append", default=[], metavar="KEY=VALUE",
                   help="PostgreSQL server setting (repeatable; defaults in bench/pg.py)")
    g = p.add_argument_group("actions")
    g.add_argument("--actions", type=int, default=500, help="delete_pod actions queued")
    g.add_argument("--actions-timeout", type=float, default=900)
    g = p.add_argument_group("recovery")
    g.add_argument("--recovery-jobs", type=int, default=8, help="actions queued, then a crash")
    g.add_argument("--recovery-timeout", type=float, default=480,
                   help="seconds after the restart (today the 5 min lease must expire)")
    opts = p.parse_args(argv)
    if "all" in opts.scenarios:
        opts.scenarios = names
    opts.env = dict(_pair(p, item) for item in opts.service_env)
    opts.pg_settings = [_pair(p, item) for item in opts.pg_setting]
    try:
        opts.rule_counts = [int(n) for n in opts.rule_counts.split(",") if n.strip()]
    except ValueError:
        p.error(f"--rule-counts must be comma-separated integers, not {opts.rule_counts!r}")
    if opts.repeat < 1 or opts.batches < 1:
        p.error("--repeat and --batches must be at least 1")
    return opts


def _pair(p: argparse.ArgumentParser, item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        p.error(f"expected KEY=VALUE, not {item!r}")
    return key, value


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if opts.profile == "auto":
        opts.profile = RESULTS / f"profile-{stamp}"
    elif opts.profile:
        opts.profile = Path(opts.profile)
    if opts.profile:
        opts.profile.parent.mkdir(parents=True, exist_ok=True)
    host = machine.describe()
    print("\n".join(machine.summary_lines(host)), flush=True)
    scenarios = registry()
    base = Path(tempfile.mkdtemp(prefix="remediator-bench-"))
    runs: dict[str, list[Run]] = {}
    try:
        for name in opts.scenarios:
            for index in range(opts.repeat):
                run = run_once(name, scenarios[name], opts, base / f"{name}-{index + 1}")
                print(progress(name, index, opts.repeat, run), flush=True)
                if run.errors:
                    return refuse(name, index, run, base, opts.keep)
                runs.setdefault(name, []).append(run)
                if name == "storm":
                    opts.profile = None  # profile the first storm only, never overwrite it
    finally:
        if opts.keep:
            print(f"work dirs kept in {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    result = assemble(opts, host, runs, argv)
    print(table(result))
    out = opts.json or RESULTS / f"{stamp}-{'-'.join(opts.scenarios)}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"\nwrote {out}")
    return 0


def run_once(name: str, scenario: Any, opts: argparse.Namespace, workdir: Path) -> Run:
    workdir.mkdir(parents=True)
    started = time.perf_counter()
    try:
        run: Run = scenario(opts, workdir)
    except BenchError as error:
        run = Run(errors=[str(error)])
    run.detail["seconds"] = time.perf_counter() - started
    return run


def progress(name: str, index: int, repeat: int, run: Run) -> str:
    shown = ", ".join(f"{k} {v:,.4g}" for k, v in list(run.figures.items())[:6])
    state = "ERRORS" if run.errors else "ok"
    return "\n    ".join([f"{name} {index + 1}/{repeat}: {state} in {run.detail['seconds']:.1f} s"
                         f"  {shown}", *run.notes])


def refuse(name: str, index: int, run: Run, base: Path, keep: bool) -> int:
    print(f"\nREFUSED: {name} run {index + 1} had errors; no figures reported:", file=sys.stderr)
    for error in run.errors:
        print(f"  - {error}", file=sys.stderr)
    if not keep:
        print("(re-run with --keep to keep the service logs and database)", file=sys.stderr)
    else:
        print(f"(logs and database under {base})", file=sys.stderr)
    return 1


def assemble(opts: argparse.Namespace, host: dict[str, Any], runs: dict[str, list[Run]],
             argv: list[str] | None) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for name, done in runs.items():
        names = [f for f in done[0].figures if all(f in r.figures for r in done)]
        scenarios[name] = {
            "figures": {f: {**spread([r.figures[f] for r in done]), "unit": figures.unit(f),
                            "better": figures.better(f),
                            "target": (figures.target(name, f) or ("",))[0]}
                        for f in names},
            "runs": [{"figures": r.figures, "notes": r.notes, "detail": r.detail}
                     for r in done],
        }
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()
               if k not in ("json", "env", "pg_settings")}
    return {"schema": SCHEMA, "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "argv": sys.argv[1:] if argv is None else argv, "machine": host,
            "loadavg_after": list(__import__("os").getloadavg()), "options": options,
            "scenarios": scenarios}


def table(result: dict[str, Any]) -> str:
    rows = [("scenario", "figure", "min", "median", "max", "unit", "target")]
    for name, scenario in result["scenarios"].items():
        for figure, s in scenario["figures"].items():
            check = figures.target(name, figure)
            verdict = ""
            if check:
                verdict = f"{check[0]} {'PASS' if check[1](s['median']) else 'FAIL'}"
            rows.append((name, figure, fmt(s["min"]), fmt(s["median"]), fmt(s["max"]),
                         s["unit"], verdict))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 or i > 4 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n" + "\n".join(lines)


def fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"
