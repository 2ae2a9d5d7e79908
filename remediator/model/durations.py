"""Prometheus-style durations (`30s`, `10m`, `1h30m`) as `timedelta`.

Rule authors already write durations this way in alert rules; accepting the
same syntax avoids a second dialect.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_WHOLE = re.compile(r"(?:\d+(?:ms|s|m|h|d|w|y))+")


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus duration; raise ValueError naming the bad text."""
    text = text.strip()
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"invalid duration {text!r}: use e.g. 30s, 10m, 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long") from None


def format_duration(value: timedelta) -> str:
    """Render a timedelta back in the shortest Prometheus form."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


if TYPE_CHECKING:
    from pydantic import BeforeValidator, PlainSerializer

    Duration = Annotated[timedelta, BeforeValidator(_coerce), PlainSerializer(format_duration)]
    """A pydantic field type that accepts `10m` or seconds and serialises back to `10m`."""


if not TYPE_CHECKING:  # mypy reads the alias above; a module __getattr__ would hide typos
    def __getattr__(name: str) -> Any:
        """`Duration`, built on first use: `remediator audit --since 1h` parses a duration
        and should not import pydantic for it (issue 11)."""
        if name != "Duration":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from pydantic import BeforeValidator, PlainSerializer

        duration = Annotated[timedelta, BeforeValidator(_coerce), PlainSerializer(format_duration)]
        globals()["Duration"] = duration
        return duration
