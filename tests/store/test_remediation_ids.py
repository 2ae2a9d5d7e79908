"""Remediation ids are version 7 UUIDs: unique, and ordered by the millisecond they were made."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from remediator.store.remediations import new_id

MAX_MILLIS = (1 << 48) - 1


def test_an_id_is_a_version_7_rfc_9562_uuid_with_its_millisecond_first() -> None:
    made = datetime(2026, 12, 3, 10, 0, 0, 123000, tzinfo=UTC)
    now_ns = int(made.timestamp()) * 10**9 + 123_000_000
    value = uuid.UUID(new_id(now_ns))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == now_ns // 1_000_000


@given(st.integers(0, MAX_MILLIS - 1), st.integers(1, 10**6))
def test_an_id_made_in_a_later_millisecond_sorts_after(millis: int, later_by: int) -> None:
    earlier = new_id(millis * 1_000_000)
    later = new_id(min(millis + later_by, MAX_MILLIS) * 1_000_000)
    assert earlier < later  # as text too: the indexes compare strings


def test_ids_made_in_the_same_millisecond_differ() -> None:
    ids = {new_id(1_700_000_000_000_000_000) for _ in range(10_000)}
    assert len(ids) == 10_000
