"""How values become column values, the same on SQLite and PostgreSQL: UTC
datetimes (`UTCDateTime`) and JSON text (`json_dumps`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def _utc(value: Any) -> datetime:
    """`value` in UTC (still aware); refuses naive datetimes and anything else."""
    if not isinstance(value, datetime) or (offset := value.utcoffset()) is None:
        raise ValueError("UTCDateTime needs a timezone-aware datetime")
    return value.astimezone(UTC) if offset else value  # the usual case: already UTC


def sqlite_text(value: Any) -> str | None:
    """SQLite's stored text for an aware datetime: naive UTC, the format SQLAlchemy's
    SQLite `DATETIME` writes ("2026-12-03 12:42:14.000123"), so ranges compare as
    text against rows written before.

    One call instead of two processors (ours, then the dialect's `%`-formatting of
    a dict): every decision binds ~5 datetimes under the writer lock, and the pair
    cost ~7 % of its CPU (issue 11). `isoformat` always writes a four-digit year
    and six microsecond digits here; the slice drops its "+00:00"."""
    if value is None:
        return None
    return _utc(value).isoformat(" ", "microseconds")[:26]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no timezone type; storing naive UTC and re-attaching UTC on the
    way out keeps comparisons and the audit hash chain identical everywhere.
    """

    impl = DateTime
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        # TypeDecorator composes process_bind_param with the dialect's own processor;
        # on SQLite this replaces both with one function that writes the same text
        # (tests/store/test_datetime_binding.py holds the two equal).
        if dialect.name == "sqlite":
            return sqlite_text
        return super().bind_processor(dialect)

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} becomes {"1": ...}, as json.dumps does


def json_dumps(value: Any) -> str:
    """How JSON columns are written: orjson, with the standard library behind it.

    Labels, audit details and job payloads are serialised several times per alert on
    the webhook's hot path, and the standard library's encoder was ~8 % of the
    service's time in a storm; orjson does the same work several times faster. The
    stored text differs only in spacing and in not escaping non-ASCII characters,
    which every JSON reader (SQLite, PostgreSQL, the standard library) reads back
    to the same value.

    What orjson refuses, the standard library still writes, as before: strings with
    lone surrogates (a label value may be any JSON string), integers beyond 64 bits.
    So no value the service could store before is refused now, with one deliberate
    difference: NaN and infinities, which are not JSON, are written as `null`
    (PostgreSQL's JSON type refused the standard library's `NaN` outright). The
    audit chain does not hash this text (`seal.canonical` has its own, fixed
    form), so changing it changes no hash.

    Reading stays with the standard library: orjson reads an integer beyond 64
    bits as a float, silently, and reads are not where the storm's time goes.
    """
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError: surrogates, big integers, unknown types
        return json.dumps(value)
