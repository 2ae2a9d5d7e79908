"""What a figure's name says: its unit, which direction is better, the issue's target.

Names carry their unit as a suffix (`_per_s`, `_ms`, `_us`, `_s`, `_mb`,
`_mb_per_min`, `_util`), so a new figure needs no registration to be printed and
compared. Targets are issue 11's, keyed by scenario and figure.
"""

from __future__ import annotations

from collections.abc import Callable

Target = tuple[str, Callable[[float], bool]]

TARGETS: dict[tuple[str, str], Target] = {
    ("storm", "alerts_per_s"): (">= 10,000", lambda v: v >= 10_000),
    ("storm", "p99_ms"): ("< 50", lambda v: v < 50),
    ("storm", "rss_after_storm_mb"): ("< 120", lambda v: v < 120),
    ("storm", "startup_new_db_s"): ("< 1", lambda v: v < 1),
    ("storm", "startup_existing_db_s"): ("< 1", lambda v: v < 1),
    ("single", "p99_ms"): ("< 20", lambda v: v < 20),
    ("startup", "startup_new_db_s"): ("< 1", lambda v: v < 1),
    ("startup", "startup_existing_db_s"): ("< 1", lambda v: v < 1),
    ("startup", "startup_kubernetes_s"): ("< 1", lambda v: v < 1),
    ("startup", "cli_help_s"): ("< 0.5", lambda v: v < 0.5),
    ("startup", "cli_audit_s"): ("< 0.5", lambda v: v < 0.5),
    ("soak", "rss_end_mb"): ("< 120", lambda v: v < 120),
    ("postgres", "total_alerts_per_s"): (">= 5,000", lambda v: v >= 5_000),
    ("audit-size", "audit_api_p99_ms"): ("< 100", lambda v: v < 100),
    ("audit-size", "audit_api_worst_query_p99_ms"): ("< 100", lambda v: v < 100),
    ("actions", "actions_per_s"): (">= 100", lambda v: v >= 100),
    ("recovery", "interrupted_recognised_s"): ("seconds (< 10)", lambda v: v < 10),
    ("backtest", "backtest_s"): ("< 10 (issue 25)", lambda v: v < 10),
}


def unit(name: str) -> str:
    for suffix, label in (("_mb_per_min", "MB/min"), ("_per_s", "/s"), ("_ms", "ms"),
                          ("_us", "us"), ("_mb", "MB"), ("_util", "cores"), ("_s", "s")):
        if name.endswith(suffix):
            return label
    return ""


def better(name: str) -> str:
    """'higher', 'lower' or '' (a count, or busy cores: neither, as they grow with the
    work done; CPU time per alert or action, in ms or us, is lower-better)."""
    if name.endswith("_per_s"):
        return "higher"
    if unit(name) in ("ms", "us", "s", "MB", "MB/min"):
        return "lower"
    return ""


def target(scenario: str, name: str) -> Target | None:
    return TARGETS.get((scenario, name))
