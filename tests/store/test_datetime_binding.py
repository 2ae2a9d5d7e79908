"""How UTCDateTime writes to SQLite: one fused step, the same text as before.

SQLite compares the stored datetimes as text (guard windows, audit pages), so
the fused writer (`types.sqlite_text`) must write exactly what SQLAlchemy's own
SQLite `DATETIME` wrote for the same instant: rows written before and after the
change sort and compare together.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.dialects.sqlite.base import DATETIME, SQLiteDialect

from remediator.store.types import UTCDateTime, sqlite_text

offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))
# Far enough from the calendar's ends that any offset converts to UTC.
instants = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                        timezones=offsets)
dialects_text = DATETIME().bind_processor(SQLiteDialect())


@given(instants)
def test_the_stored_text_is_sqlalchemys_for_the_same_utc_instant(value: datetime) -> None:
    assert dialects_text is not None
    assert sqlite_text(value) == dialects_text(value.astimezone(UTC).replace(tzinfo=None))


@pytest.mark.parametrize("value", [datetime(2026, 12, 3, 12, 0), "2026-12-03", 1764763200])
def test_naive_datetimes_and_other_values_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sqlite_text(value)


def test_a_sqlite_column_stores_the_fused_text_and_reads_back_aware_utc(tmp_path: Path) -> None:
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UTCDateTime()))
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    table.metadata.create_all(engine)
    paris = timezone(timedelta(hours=1))
    written = [datetime(2026, 12, 3, 13, 0, 0, 7, tzinfo=paris), None]
    with engine.begin() as connection:
        connection.execute(insert(table), [{"at": value} for value in written])
        stored = connection.execute(text("SELECT at FROM t ORDER BY id")).scalars().all()
        read = connection.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
    assert UTCDateTime()._cached_bind_processor(engine.dialect) is sqlite_text  # one step
    assert stored == ["2026-12-03 12:00:00.000007", None]
    assert read == [datetime(2026, 12, 3, 12, 0, 0, 7, tzinfo=UTC), None]
