"""`since`/`until` for on-call people: RFC 3339 or relative (`1h` = one hour ago)."""

from __future__ import annotations

from datetime import UTC, datetime

from remediator.model.durations import parse_duration


def parse_time(text: str, now: datetime) -> datetime:
    """Parse `2026-01-01T00:00:00Z` or `30m`; raise ValueError with a clear message."""
    text = text.strip()
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    except OverflowError:
        raise ValueError(f"time {text!r} is too far in the past") from None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"invalid time {text!r}: use RFC 3339 or a duration like 1h") from None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:  # `0001-01-01T00:00:00+05:00` is before year 1 in UTC: no query can use it
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"time {text!r} is outside the range of UTC time") from None
