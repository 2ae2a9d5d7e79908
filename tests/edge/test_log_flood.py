"""Repeated log lines are cut to a few per window, and say how many were dropped."""

from __future__ import annotations

import logging

from remediator.app.logs import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, name: str = "asyncio", level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_a_flood_of_one_line_is_cut_to_the_burst_per_window() -> None:
    clock = Clock()
    flood = RepeatFilter(burst=5, window=60, clock=clock)
    passed = [r for r in (_record("socket.accept() out of system resource")
                          for _ in range(100_000)) if flood.filter(r)]
    assert len(passed) == 5
    clock.now = 61
    [summary] = [r for r in [_record("socket.accept() out of system resource")]
                 if flood.filter(r)]
    assert summary.getMessage().endswith("(99995 similar lines suppressed)")


def test_distinct_messages_never_hide_each_other() -> None:
    flood = RepeatFilter(burst=1, window=60, clock=Clock())
    assert flood.filter(_record("executed a"))
    assert flood.filter(_record("executed b"))
    assert flood.filter(_record("executed a", level=logging.WARNING))
    assert not flood.filter(_record("executed a"))


def test_setup_installs_it() -> None:
    from remediator.app import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.setup("INFO", "json")
        assert any(isinstance(f, RepeatFilter) for f in root.handlers[0].filters)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_lines_of_different_remediations_are_distinct() -> None:
    flood = RepeatFilter(burst=1, window=60, clock=Clock())
    first, second = _record("dry_run restart pod/a"), _record("dry_run restart pod/a")
    first.context, second.context = {"remediation_id": "r1"}, {"remediation_id": "r2"}
    assert flood.filter(first)
    assert flood.filter(second)
