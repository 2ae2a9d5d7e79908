"""Compare two benchmark results: every figure's median, old vs new, delta and %.

    python bench/compare.py OLD.json NEW.json

Figures are matched by scenario and name; ones in only one file are listed as
such. A trailing `better`/`worse` says which way the change went (by the
figure's unit: throughput up is better, latency/time/memory down is better).
Warns when the two machines differ. Exit status 0 (2 if a file is unreadable).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot read {path}: {error}") from None
    if "scenarios" not in data:
        raise SystemExit(f"{path} is not a result of `python -m bench` (no `scenarios`)")
    return data


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def verdict(better: str, delta: float) -> str:
    if not better or delta == 0:
        return ""
    return "better" if (delta > 0) == (better == "higher") else "worse"


def rows(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for scenario in dict.fromkeys([*old["scenarios"], *new["scenarios"]]):
        a = old["scenarios"].get(scenario, {}).get("figures", {})
        b = new["scenarios"].get(scenario, {}).get("figures", {})
        for name in dict.fromkeys([*a, *b]):
            fa, fb = a.get(name), b.get(name)
            va = fa["median"] if fa else None
            vb = fb["median"] if fb else None
            unit = (fb or fa or {}).get("unit", "")
            if va is None or vb is None:
                out.append((scenario, name, fmt(va), fmt(vb), "", "", unit,
                            "only in " + ("new" if va is None else "old")))
                continue
            delta = vb - va
            percent = f"{100 * delta / va:+.1f}%" if va else ""
            out.append((scenario, name, fmt(va), fmt(vb), f"{delta:+,.4g}", percent, unit,
                        verdict((fb or fa or {}).get("better", ""), delta)))
    return out


def machine_line(data: dict[str, Any]) -> str:
    m = data.get("machine", {})
    code = m.get("code", {})
    return (f"{m.get('cores')} cores {m.get('cpu_model')}, Python {m.get('python')}, SQLite "
            f"{m.get('sqlite')}, {code.get('short')}{' dirty' if code.get('dirty') else ''}, "
            f"load {(m.get('loadavg') or [0])[0]:.2f}, {data.get('when')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    try:
        old, new = load(args.old), load(args.new)
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    print(f"old: {args.old}: {machine_line(old)}")
    print(f"new: {args.new}: {machine_line(new)}")
    mo, mn = old.get("machine", {}), new.get("machine", {})
    for key in ("cores", "cpu_model", "python", "sqlite"):
        if mo.get(key) != mn.get(key):
            print(f"WARNING: {key} differs ({mo.get(key)} vs {mn.get(key)}): "
                  "not the same machine", file=sys.stderr)
    table = [("scenario", "figure (median)", "old", "new", "delta", "%", "unit", ""),
             *rows(old, new)]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    print()
    for index, row in enumerate(table):
        print("  ".join(c.rjust(w) if 2 <= i <= 5 else c.ljust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())
        if index == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
